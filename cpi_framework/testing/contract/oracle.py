"""The real bosh-agent as the judge: reports whether the agent oracle runs beside the model.

Every hint :func:`..checks.guest_disk` judges and every settings document
:func:`..checks.guest_settings` reads is also put to the real agent's code when the oracle runs
(:mod:`..agent_oracle`). This test makes its absence visible: skipped with the reason where Go
is missing, failed under ``CI=true``.
"""

from __future__ import annotations

from ..agent_oracle import require_in_ci

__all__ = ["test_agent_oracle_runs"]


def test_agent_oracle_runs() -> None:
    """The oracle answers with the agent version its go.mod pins."""
    oracle = require_in_ci()
    assert oracle.agent.startswith("github.com/cloudfoundry/bosh-agent/v2@v"), oracle.agent
