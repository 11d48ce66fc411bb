"""How headwater's refusals read in RTSP (RFC 2326 section 7.1.1 status codes)."""

from __future__ import annotations

from headwater import Refusal

REFUSAL_STATUS = {
    Refusal.BAD_NAME: 400,
    Refusal.NOT_FOUND: 404,
    Refusal.UNAUTHORIZED: 401,
    Refusal.FORBIDDEN: 403,
    Refusal.BUSY: 453,
    Refusal.LIMIT: 503,
}
"""Publish and play refusals → status (453 Not Enough Bandwidth: the name is taken)."""
