"""Lab-only connection plugin: containers.podman.podman with module pipelining.

Molecule's podman driver and the lab inventory ask for the connection ``podman``. With this
directory on ANSIBLE_CONNECTION_PLUGINS (scripts/lib.sh and .config/molecule/config.yml put it
there) that short name resolves to this plugin before Ansible's redirect to
containers.podman.podman. It is not part of the collection (galaxy.yml ignores lab/).

Why: containers.podman.podman declares no pipelining, because its ``podman exec`` never passes
``-i`` and so a module sent on stdin never arrives. Without pipelining every task costs about
six podman processes (mount, home lookup, mkdir, chmod, run, rm) and each ``podman exec`` also
spawns a conmon, a runc exec and a cleanup process. Sending the module on ``podman exec -i``
makes a task one exec. Measured in one invocation on the lab image (35 tasks, loaded machine):
778 s wall / 40 s controller CPU before, 365 s / 20 s after.
"""

from __future__ import annotations

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

DOCUMENTATION = """
name: podman
short_description: Run tasks in a lab container through podman exec, with pipelining
description:
  - containers.podman.podman with modules piped to the container's Python over C(podman exec -i).
  - Files (copy, template) still go through C(podman cp).
options:
  remote_addr:
    description: The container to run in.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User inside the container.
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments for every podman command.
    default: ''
    vars:
      - name: ansible_podman_extra_args
  podman_executable:
    description: The podman binary.
    default: podman
    vars:
      - name: ansible_podman_executable
  pipelining:
    description: Send modules on stdin instead of copying them into the container.
    default: true
    type: boolean
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
"""


class Connection(PodmanConnection):
    transport = "podman"
    has_pipelining = True

    def _connect(self) -> Connection:
        # No `podman mount` per task: modules arrive on stdin and files use `podman cp`.
        self._connected = True
        self._mount_point = None
        return self

    @ensure_connect
    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = False):
        args = ["exec"]
        if in_data is not None:
            args.append("-i")
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
