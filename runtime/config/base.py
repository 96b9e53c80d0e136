"""Building blocks of every config section (the device's own and those of front ends,
alerts and notifications), kept apart so each section can live with its package."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class SecretMark:
    """Marks a setting as a secret (a webhook token, an SMTP password). The API never returns
    it: GET /api/v1/config/ shows it as `runtime.api.config_service.MASK`, and a PUT that sends
    the mask back keeps the stored value. Use the `Secret` type rather than this directly."""

    def __repr__(self) -> str:
        return "SECRET"


SECRET = SecretMark()
Secret = Annotated[str, SECRET]  # e.g. `token: Secret | None = None`


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a config must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_id(value: str) -> str:
    if re.match(ID_PATTERN, value) is None:
        raise ValueError(
            f"{value!r} is not a valid id: use lowercase letters, digits and '-', "
            "starting with a letter or digit (like motor-1)"
        )
    return value
