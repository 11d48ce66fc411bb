"""Password authorization: ``password`` on a stream or template, compared in constant time."""

from __future__ import annotations

import hmac

from headwater.config.models import StreamSettings
from headwater.markers import hookimpl
from headwater.publish_request import PublishRequest
from headwater.verdict import Verdict


@hookimpl
def authorize(request: PublishRequest, settings: StreamSettings) -> Verdict | None:
    """Deny when the settings have a password and ``?password=`` does not match it."""
    if not settings.password:
        return None
    given = request.args.get("password")
    if given is None:
        return Verdict.deny("a password is required to publish here")
    if not hmac.compare_digest(given.encode(), settings.password.encode()):
        return Verdict.deny("wrong password")
    return Verdict.allow()
