"""Detection rules, one per module: secrets for code-sanitation, personal data for pii-detector.

`secret_recognizers()` / `pii_recognizers()` build fresh instances; `engine.Engine` runs them.
"""
from __future__ import annotations

from .anthropic_key import AnthropicKeyRecognizer
from .aws_access_key import AwsAccessKeyRecognizer
from .aws_secret_key import AwsSecretKeyRecognizer
from .azure_key import AzureKeyRecognizer
from .base import CustomPatternRecognizer, Recognizer
from .bearer_token import BearerTokenRecognizer
from .credit_card import PaymentCardRecognizer
from .email_address import EmailAddressRecognizer
from .encoded_secret import EncodedSecretRecognizer
from .engine import Detection, Engine
from .github_token import GithubTokenRecognizer
from .gitlab_token import GitlabTokenRecognizer
from .google_api_key import GoogleApiKeyRecognizer
from .huggingface_token import HuggingfaceTokenRecognizer
from .iban import IbanCodeRecognizer
from .ip_address import IpAddressRecognizer
from .jwt_token import JwtRecognizer
from .kubernetes_secret import KubernetesSecretRecognizer
from .medical_record_number import MedicalRecordRecognizer
from .npm_token import NpmTokenRecognizer
from .openai_key import OpenAIKeyRecognizer
from .person_name import PersonNameRecognizer
from .phone_number import PhoneNumberRecognizer
from .private_key import PrivateKeyRecognizer
from .provider_rule import ProviderRuleRecognizer, load_rules, provider_rule_types
from .secret_assignment import SecretAssignmentRecognizer
from .sendgrid_key import SendgridKeyRecognizer
from .slack_token import SlackTokenRecognizer
from .stripe_key import StripeKeyRecognizer
from .twilio_key import TwilioKeyRecognizer
from .url_password import UrlPasswordRecognizer
from .url_query_secret import UrlQuerySecretRecognizer
from .us_npi import ProviderNpiRecognizer
from .us_ssn import SocialSecurityNumberRecognizer

SECRET_CLASSES: tuple[type[Recognizer], ...] = (
    AwsAccessKeyRecognizer, AwsSecretKeyRecognizer, GithubTokenRecognizer, OpenAIKeyRecognizer,
    AnthropicKeyRecognizer, SlackTokenRecognizer, StripeKeyRecognizer, GoogleApiKeyRecognizer, NpmTokenRecognizer,
    GitlabTokenRecognizer, SendgridKeyRecognizer, HuggingfaceTokenRecognizer, TwilioKeyRecognizer,
    AzureKeyRecognizer, JwtRecognizer, PrivateKeyRecognizer, UrlPasswordRecognizer, UrlQuerySecretRecognizer,
    BearerTokenRecognizer, SecretAssignmentRecognizer, EncodedSecretRecognizer, KubernetesSecretRecognizer,
)
PII_CLASSES: tuple[type[Recognizer], ...] = (
    EmailAddressRecognizer, PhoneNumberRecognizer, PaymentCardRecognizer, IbanCodeRecognizer, SocialSecurityNumberRecognizer, IpAddressRecognizer,
    PersonNameRecognizer, ProviderNpiRecognizer, MedicalRecordRecognizer,
)

# Provider token formats loaded as data (provider_rules/*.yaml) come after the hand-written classes.
SECRET_TYPES = tuple(c.ENTITY for c in SECRET_CLASSES) + tuple(
    t for t in provider_rule_types() if t not in {c.ENTITY for c in SECRET_CLASSES})
PII_TYPES = tuple(c.ENTITY for c in PII_CLASSES)


def secret_recognizers() -> list[Recognizer]:
    return [c() for c in SECRET_CLASSES] + [ProviderRuleRecognizer(r) for r in load_rules()]


def pii_recognizers() -> list[Recognizer]:
    return [c() for c in PII_CLASSES]


__all__ = ["Engine", "Detection", "Recognizer", "CustomPatternRecognizer", "secret_recognizers",
           "pii_recognizers", "SECRET_TYPES", "PII_TYPES", "SECRET_CLASSES", "PII_CLASSES"]
