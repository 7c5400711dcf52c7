"""otpservice: self-hosted SMS sending and phone verification.

from otpservice import Settings, create_app
app = create_app(Settings())          # an ASGI app: uvicorn, hypercorn, a test client...
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Settings", "SettingsError", "__version__", "create_app", "load_settings"]

if TYPE_CHECKING:
    from otpservice.app import create_app
    from otpservice.settings import Settings, SettingsError, load_settings


def __getattr__(name: str) -> Any:
    # Imported on first use: `otpservice --version` and the submodules stay light.
    if name == "create_app":
        from otpservice.app import create_app

        return create_app
    if name in ("Settings", "SettingsError", "load_settings"):
        from otpservice import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'otpservice' has no attribute {name!r}")
