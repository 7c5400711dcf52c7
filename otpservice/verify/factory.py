"""Build the VerificationService from the settings and the services the SMS core already has."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otpservice.clock import Clock
from otpservice.db.messages import MessageStore
from otpservice.db.verifications import VerificationStore
from otpservice.fraud.guard import FraudGuard
from otpservice.limits.delay import DelayPolicy
from otpservice.settings import Settings
from otpservice.sms.service import SmsService
from otpservice.verify.codes import CodeBook
from otpservice.verify.keys import SecretKeys, resolve_secret_keys
from otpservice.verify.message_text import MessageTemplates
from otpservice.verify.policy import NumberPolicy
from otpservice.verify.sending import CodeSender
from otpservice.verify.service import VerificationRules, VerificationService

log = logging.getLogger("otpservice.verify")

RECOMMENDED_CODE_LENGTH = 6


def check_verification_settings(settings: Settings) -> None:
    """Start-up check: the secret key is there (or generated); raises SettingsError."""
    resolve_secret_keys(settings)


def build_verification_service(
    settings: Settings,
    keys: SecretKeys,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    sms: SmsService,
    messages: MessageStore,
    guard: FraudGuard,
) -> VerificationService:
    if settings.otp_code_length < RECOMMENDED_CODE_LENGTH:
        log.warning(
            "OTP_CODE_LENGTH=%d: codes shorter than %d digits are easier to guess",
            settings.otp_code_length,
            RECOMMENDED_CODE_LENGTH,
        )
    codes = CodeBook(keys.current, keys.previous)
    store = VerificationStore(sessions)
    templates = MessageTemplates(settings.otp_app_name)
    policy = NumberPolicy(
        allowed_countries=settings.otp_allowed_countries,
        mobile_only=settings.otp_mobile_only,
        test_numbers=settings.test_numbers,
    )
    rules = VerificationRules(
        ttl_seconds=settings.otp_ttl,
        code_length=settings.otp_code_length,
        max_check_attempts=settings.otp_max_check_attempts,
        max_sends=settings.otp_max_sends,
        delay=DelayPolicy(
            base=settings.exponential_delay_base,
            cap=settings.exponential_delay_max,
            reset_after=settings.exponential_delay_reset_after,
        ),
    )
    sender = CodeSender(store, sms, codes, templates, clock, max_sends=settings.otp_max_sends, guard=guard)
    return VerificationService(store, messages, sender, codes, policy, sms, templates, rules, clock, guard)
