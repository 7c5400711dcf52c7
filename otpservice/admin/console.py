"""The console's parts, built once per app from its services, and how its pages are rendered."""

import logging
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from otpservice.admin.breakers import BreakerControl
from otpservice.admin.charts import country_chart, outcome_chart
from otpservice.admin.overview import Overview
from otpservice.admin.revocation import RevokedSessions
from otpservice.admin.session import Session, SessionKeys
from otpservice.api.admin_lockout import AdminLockout
from otpservice.api.context import Services, services_of
from otpservice.clock import iso
from otpservice.core.email import mask_destination
from otpservice.db.engine import make_sessionmaker
from otpservice.db.reports import ReportStore
from otpservice.db.revoked import RevokedSessionStore
from otpservice.verify.keys import resolve_secret_keys

audit_log = log = logging.getLogger("otpservice.admin")

# Everything a page loads comes from this page: inline style and SVG, nothing from another host.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _when(value: datetime | float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(UTC).timestamp()
    return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


TEMPLATES = Environment(
    loader=PackageLoader("otpservice.admin", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(mask=mask_destination, when=_when, percent=_percent)
TEMPLATES.globals.update(country_chart=country_chart, outcome_chart=outcome_chart)


class Console:
    def __init__(self, services: Services, breakers: BreakerControl) -> None:
        settings = services.settings
        self.services = services
        self.keys = SessionKeys(
            resolve_secret_keys(settings).current, [key.get_secret_value() for key in settings.admin_api_keys]
        )
        self.reports = ReportStore(make_sessionmaker(services.engine))
        self.overview = Overview(self.reports, services.clock, otp_ttl=settings.otp_ttl)
        self.breakers = breakers
        self.logins = AdminLockout(services.limit_storage.windows)
        self.revoked = RevokedSessions(
            RevokedSessionStore(make_sessionmaker(services.engine)), services.limit_storage.windows, services.clock
        )
        self.secure_cookies = (settings.public_base_url or "").lower().startswith("https://")

    def audit(self, session: Session, action: str, target: str, **fields: object) -> None:
        """One line per operator action: when, what, on what, and which key (its fingerprint)."""
        audit_log.info(
            "admin action %s %s",
            action,
            target,
            extra={
                "action": action,
                "target": target,
                "admin_key": session.short,
                "at": iso(self.services.clock.now()),
                **fields,
            },
        )


def console_of(request: Request) -> Console:
    return console_for(services_of(request))


def console_for(services: Services) -> Console:
    """The process's console, made on first use (or by `warm_up` at start-up)."""
    console: Console | None = services.extras.get("console")
    if console is None:
        console = services.extras["console"] = Console(services, services.extras["breakers"])
    return console


async def warm_up(services: Services) -> None:
    """Read each period's final hours once in the background at start-up, so that the first
    overview an operator opens does not pay for the week's history (about 1 s at 10^6 rows)."""
    try:
        await console_for(services).overview.warm()
    except Exception:  # the console works without it: the first render reads them instead
        log.warning("console warm-up failed", exc_info=True)


def render(request: Request, template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
