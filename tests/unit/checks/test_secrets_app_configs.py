"""SEC-02/SEC-03: credential spellings of application configs, and what counts as a reference.

- YAML block scalars (``password: |`` / ``>-``) carry the value on the next, deeper-indented line.
- XML carries it as element text (``<password>x</password>``) or as a name/value attribute pair
  (Spring ``<property name="...password" value="x"/>``, .NET ``<add key="DbPassword" value="x"/>``).
- PHP: ``define('DB_PASSWORD', 'x')``, ``$db_pass = 'x';``, ``'password' => 'x'``.
- A value is a reference by its syntax (``${VAR}``, ``%(name)s``, ``@@NAME@@``, a path of two
  components, a YAML tag or alias after ``:``, code reading the environment), not by its first
  character: ``DB_PASSWORD=/x9K...`` or ``=@x9K...`` is a password.
- Application configs under /etc/<app>, /srv/<app>, /opt/<app> and PHP sites under /var/www are scanned.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, assert_value_hidden, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.secrets_scan import scan_text

SECRET = "Zt8kq2LmW9pXv4r"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"database:\n  host: db\n  password: |\n    {SECRET}\n", 3),
        (f"db:\n  password: >-\n    {SECRET}\n", 2),
        (f"- name: app\n  api_token: |2+\n      {SECRET}\n", 2),
        (f"<config>\n  <password>{SECRET}</password>\n</config>\n", 2),
        (f'<jdbc><Password encrypted="false">{SECRET}</Password></jdbc>\n', 1),
        (f'<bean><property name="hibernate.connection.password" value="{SECRET}"/></bean>\n', 1),
        (f'<appSettings>\n  <add key="DbPassword" value="{SECRET}" />\n</appSettings>\n', 2),
        (f'<datasource user="app" password="{SECRET}"/>\n', 1),
        (f"<?php\ndefine( 'DB_PASSWORD', '{SECRET}' );\n", 2),
        (f"<?php\n$db_pass = '{SECRET}';\n", 2),
        (f"return [\n    'password' => '{SECRET}',\n];\n", 2),
        (f"[database]\ndb.password={SECRET}\n", 2),
        (f"DB_PASSWORD=/{SECRET}\n", 1),
        (f"DB_PASSWORD=@{SECRET}\n", 1),
        (f"DB_PASSWORD=!{SECRET}\n", 1),
        (f"DB_PASSWORD=%{SECRET}\n", 1),
        (f"DB_PASSWORD=*{SECRET}\n", 1),
        (f"DB_PASSWORD=&{SECRET}\n", 1),
    ],
)
def test_application_config_spellings_are_found(text, line):
    hits = scan_text(text)
    assert [hit.line for hit in hits] == [line]
    assert all(SECRET not in hit.what for hit in hits)


@pytest.mark.parametrize(
    "text",
    [
        "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  62313865663537653932\n",
        "password: |\n  {{ vault_db_password }}\n",
        "password: >-\n  ${DB_PASSWORD}\n",
        "token: |\nnext: 1\n",
        "api_token: |2+\n    ${API_TOKEN}\n",
        "password: *db_password\n",
        "password: !ENV ${DB_PASSWORD}\n",
        "password: !secret mqtt_password\n",
        "DB_PASSWORD=/run/secrets/db_password\n",
        "DB_PASSWORD=@@DB_PASSWORD@@\n",
        "DB_PASSWORD=@DB_PASSWORD@\n",
        "DB_PASSWORD=%DB_PASSWORD%\n",
        "password=%(db_password)s\n",
        "<password>${DB_PASSWORD}</password>\n",
        "<password></password>\n",
        '<property name="password" value="${db.password}"/>\n',
        '<input type="password" name="password" value="">\n',
        '<add key="DbPassword" value="#{DbPassword}#"/>\n',
        "define('DB_PASSWORD', getenv('DB_PASSWORD'));\n",
        "define('DB_PASSWORD', '');\n",
        "$password = $_ENV['DB_PASSWORD'];\n",
        "$password = getenv('DB_PASSWORD');\n",
        "'password' => env('DB_PASSWORD'),\n",
        "const password = process.env.DB_PASSWORD;\n",
        "password = os.environ['DB_PASSWORD']\n",
        "if ($password === '') {\n",
    ],
)
def test_references_and_code_are_not_credentials(text):
    assert scan_text(text) == []


def test_truncated_block_scalar_is_not_a_crash():
    assert scan_text("password: |") == []
    assert scan_text("password: |\n") == []


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (
            "/etc/netplan/50-wifi.yaml",
            f'network:\n  wifis:\n    wlan0:\n      access-points:\n        "office":\n'
            f'          password: "{SECRET}"\n',
        ),
        ("/etc/myapp/config.yml", f"db:\n  password: |\n    {SECRET}\n"),
        ("/srv/shop/config/database.yml", f"production:\n  password: {SECRET}\n"),
        ("/opt/tomcat/conf/context.xml", f'<Resource name="jdbc/app" username="app" password="{SECRET}"/>\n'),
        ("/opt/app/application.properties", f"spring.datasource.password={SECRET}\n"),
        ("/var/www/blog/wp-config.php", f"<?php\ndefine( 'DB_PASSWORD', '{SECRET}' );\n"),
    ],
)
def test_world_readable_application_configs_fail(make_facts, path, content):
    result = run("SEC-02", make_facts(commands=lab_commands(), files={path: (content, 0o644)}))
    assert_status(result, Status.FAIL)
    assert path in result.message
    assert_value_hidden(result, SECRET)


def test_private_application_config_passes(make_facts):
    files = {"/var/www/blog/wp-config.php": (f"<?php\ndefine( 'DB_PASSWORD', '{SECRET}' );\n", 0o640)}
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files=files)), Status.NOT_APPLICABLE)


def test_oversized_application_file_is_named_not_read(make_facts):
    big = "x: 1\n" * (300 * 1024)  # 1.5 MiB of harmless YAML
    files = {"/srv/data/dump.json": (big, 0o644), "/etc/profile.d/app.sh": ("export PATH=$PATH:/opt/app\n", 0o644)}
    result = run("SEC-02", make_facts(commands=lab_commands(), files=files))
    assert_status(result, Status.PASS)
    assert any("/srv/data/dump.json" in line and "not scanned" in line for line in result.evidence)


def test_world_readable_config_with_references_only_passes(make_facts):
    files = {
        "/etc/myapp/config.yml": ("db:\n  password: !ENV ${DB_PASSWORD}\n  token: *shared_token\n", 0o644),
        "/var/www/blog/wp-config.php": ("<?php\ndefine( 'DB_PASSWORD', getenv('DB_PASSWORD') );\n", 0o644),
    }
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files=files)), Status.PASS)


@pytest.mark.parametrize(
    "args", [f"/usr/bin/app --db-password=/{SECRET}", f"java -Ddb.password=@{SECRET} -jar /opt/app/app.jar"]
)
def test_reference_looking_passwords_in_process_arguments_fail(make_facts, args):
    ps = fixture("systemd/ps-lab.txt") + f" 1000  4242 {args}\n"
    result = run("SEC-03", make_facts(commands=lab_commands(ps=ps)))
    assert_status(result, Status.FAIL)
    assert_value_hidden(result, SECRET)
