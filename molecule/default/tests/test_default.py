"""The lab is real: two systemd hosts that reach each other over a podman network."""

from labhosts import lab_host, must_run

SERVER = lab_host("rampart-default-server")
CLIENT = lab_host("rampart-default-client")


def test_both_hosts_boot_systemd() -> None:
    for host in (SERVER, CLIENT):
        state = host.run("systemctl is-system-running --wait").stdout.strip()
        assert state in {"running", "degraded"}, state


def test_client_reaches_server_over_the_network() -> None:
    body = must_run(CLIENT, "curl -fsS --max-time 5 http://rampart-default-server:8080/")
    assert body.strip() == "rampart lab server rampart-default-server"


def test_traffic_really_crosses_hosts() -> None:
    # The page is not on the client: the answer can only come from the other container.
    assert not CLIENT.file("/srv/lab/index.html").exists
    server_ip = must_run(SERVER, "hostname -I").split()[0]
    client_ip = must_run(CLIENT, "hostname -I").split()[0]
    assert server_ip != client_ip
    body = must_run(CLIENT, f"curl -fsS --max-time 5 http://{server_ip}:8080/")
    assert "rampart lab server" in body
