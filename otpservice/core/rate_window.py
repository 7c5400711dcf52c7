"""The global send window's state as data: limits/ reports it, api/ renders it as headers.

It lives in core/ because errors.py (RateLimited) carries one too, and errors.py is below limits/.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class RateWindow:
    limit: int  # sends the window allows
    remaining: int  # sends left in it (0 when full)
    reset_seconds: int  # whole seconds to its end, rounded up
