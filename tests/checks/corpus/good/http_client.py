"""Fetch exchange rates from a service configured by the environment."""

from __future__ import annotations

import logging
import os
from typing import Any

import requests

log = logging.getLogger(__name__)
# A name, not a call: bandit's B113 takes `timeout=float(...)` for a missing timeout.
TIMEOUT = float(os.getenv("RATES_TIMEOUT", "10"))


def fetch_rates(currency: str) -> dict[str, Any]:
    base_url = os.environ["RATES_URL"]
    token = os.environ["RATES_TOKEN"]
    response = requests.get(
        f"{base_url}/latest",
        params={"base": currency},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()
