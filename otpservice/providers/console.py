"""The development provider: logs the message and keeps it in an in-memory outbox.

Its log line shows the message body (and so a code): that is its purpose, and why it
is refused with a real database unless asked for.
"""

import logging
import uuid
from collections import deque
from decimal import Decimal
from typing import Any

from otpservice.clock import Clock, iso
from otpservice.core.phone import mask_phone
from otpservice.providers.base import PHONE_CHANNELS, OutgoingSms, SendReceipt

log = logging.getLogger("otpservice.providers.console")


class ConsoleProvider:
    name = "console"
    channels = PHONE_CHANNELS  # it only logs: any phone channel

    def __init__(self, clock: Clock, outbox_size: int = 100) -> None:
        self._clock = clock
        self.outbox: deque[dict[str, Any]] = deque(maxlen=outbox_size)

    async def send(self, sms: OutgoingSms) -> SendReceipt:
        sid = "CO" + uuid.uuid4().hex
        self.outbox.appendleft(
            {
                "sid": sid,
                "to": sms.receiver,
                "from": sms.sender,
                "body": sms.body,
                "dateEvent": iso(self._clock.now()),
            }
        )
        log.info(
            "console %s to %s: %s",
            sms.channel,
            mask_phone(sms.receiver),
            sms.body,
            extra={"provider": self.name, "sid": sid},
        )
        return SendReceipt(sid=sid, provider_status="sent")

    async def balance(self) -> Decimal | None:
        return None
