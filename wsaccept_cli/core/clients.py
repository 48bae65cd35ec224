"""Which well-known WebSocket clients would accept a server's answer: the models live in
`core.clientmodels` (one module per client); this module keeps the names the rest of wsaccept
imports."""

from __future__ import annotations

from wsaccept_cli.core.clientmodels import (
    PROFILES,
    ClientVerdict,
    Offer,
    Profile,
    describe,
    predict,
    predict_clients,
)

CLIENTS = PROFILES

__all__ = ["CLIENTS", "ClientVerdict", "Offer", "Profile", "describe", "predict", "predict_clients"]
