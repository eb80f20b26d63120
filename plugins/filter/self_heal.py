# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter of playbooks/drift.yml: the self-healing requests of a host's evidence chain and their answers."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: remediation_requests
short_description: Pair the self-healing requests of a Rampart evidence chain with their answers
version_added: "0.2.0"
description:
  - Reads the lines of a host's evidence chain (the controller's copy, verified when collected) and returns the
    C(REMEDIATION_REQUESTED) entries of the audit agent, which of them are still open, the answers
    (C(applied), C(rollback), C(refused), C(nothing_to_fix), C(failed)) naming the request they answer, and problems
    (an answer to an unknown request, or a second answer to one request).
  - See docs/remediation.md section 8.
options:
  _input:
    description: The chain, one DSSE envelope a line (the text of C(chain.intoto.jsonl)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Find the open request
  ansible.builtin.set_fact:
    requests: "{{ lookup('ansible.builtin.file', chain_file) | rampart.hardening.remediation_requests }}"
  vars:
    chain_file: "{{ evidence_dir }}/web1/chain.intoto.jsonl"
"""

RETURN = r"""
_value:
  description: C(open) (requests with C(seq), C(checks), C(tags), C(items)), C(answered) (C(request), C(seq), C(event),
    C(detail)) and C(problems).
  type: dict
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.module_utils.self_heal import pair, statements_of


def remediation_requests(chain: Any) -> dict[str, Any]:
    """Open and answered requests of one chain."""
    if chain is None:
        chain = ""
    if not isinstance(chain, str | bytes):
        raise AnsibleFilterError("remediation_requests: expected the chain's text")
    data = chain.encode("utf-8") if isinstance(chain, str) else chain
    return pair(statements_of(data)).to_dict()


class FilterModule:
    """Rampart self-healing filter."""

    def filters(self) -> dict[str, Any]:
        return {"remediation_requests": remediation_requests}
