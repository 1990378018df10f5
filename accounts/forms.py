"""Forms of the account pages: phone login, the two-factor steps, the profile, and the
text message code steps of sign-up, sign-in and password reset."""

from base64 import b32encode
from binascii import unhexlify

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from core import sms
from core.text import clean_text

from .models import User
from .validators import normalise_mobile, validate_mobile

# "+86 138 0000 0001" is 17 characters; leave room for dashes and brackets.
PHONE_INPUT_MAX_LENGTH = 24


class PhoneAuthenticationForm(AuthenticationForm):
    """Sign in with a mainland mobile number and a password.

    The number is normalised (spaces, dashes, a +86 or 0086 prefix) before it
    reaches ``authenticate()``, so django-axes counts failures against one
    spelling of the account whatever the user typed.
    """

    username = forms.CharField(
        label=_("Mobile number"),
        max_length=PHONE_INPUT_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "inputmode": "tel"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words whether the number is unknown or the password wrong.
        "invalid_login": _("The mobile number or the password is not right. Please try again."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # AuthenticationForm copies the model field's max_length (11), which
        # would stop people typing the +86 form; the value is checked below.
        field = self.fields["username"]
        field.max_length = PHONE_INPUT_MAX_LENGTH
        field.widget.attrs["maxlength"] = str(PHONE_INPUT_MAX_LENGTH)
        field.label = _("Mobile number")

    def clean_username(self):
        phone = normalise_mobile(self.cleaned_data["username"])
        validate_mobile(phone)
        return phone


class TokenForm(forms.Form):
    """A 6-digit code from an authenticator app."""

    token = forms.CharField(
        label=_("Code from your authenticator app"),
        min_length=6,
        max_length=6,
        help_text=_("Six digits; a new code appears every 30 seconds."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
        error_messages={
            "min_length": _("Enter the six digits shown in your app."),
            "max_length": _("Enter the six digits shown in your app."),
        },
    )

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit():
            raise forms.ValidationError(
                _("Enter the six digits shown in your app."), code="invalid_token"
            )
        return token


def new_totp_key() -> str:
    """A fresh hex TOTP secret (20 random bytes, as django-otp generates)."""
    return random_hex(20)


def totp_secret_for_humans(hex_key: str) -> str:
    """The base32 secret an app asks for when typing it in, in groups of four."""
    secret = b32encode(unhexlify(hex_key)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class TotpEnrolForm(TokenForm):
    """Confirms a new TOTP secret (kept in the session until then) with a code.

    Nothing is written before the code matches; ``save()`` then creates the
    confirmed device with the matched time step, so the same code cannot be
    used again to sign in.
    """

    def __init__(self, *args, user, key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.key = key
        self._totp = None

    def clean_token(self):
        token = super().clean_token()
        device = TOTPDevice(user=self.user, key=self.key)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        if not totp.verify(int(token), tolerance=device.tolerance):
            raise forms.ValidationError(
                _("That code is not right. Check the time on your phone and try the newest code."),
                code="wrong_token",
            )
        self._totp = totp
        return token

    def save(self) -> TOTPDevice:
        return TOTPDevice.objects.create(
            user=self.user,
            name=str(_("Authenticator app")),
            key=self.key,
            confirmed=True,
            drift=self._totp.drift,
            last_t=self._totp.t(),
        )


class PasswordConfirmForm(forms.Form):
    """Asks for the account's password before a sensitive change."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not right."), code="password_incorrect")
        return password


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "email", "language"]
        help_texts = {
            "name": _("How neighbours and the committee see you."),
            "email": _("Used to reset your password."),
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "nickname"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }


# --- text message codes: sign-up, sign-in, password reset -------------------------------


class SmsPhoneForm(forms.Form):
    """The mobile number a code is sent to."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=PHONE_INPUT_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "tel", "inputmode": "tel"}
        ),
    )

    def clean_phone(self):
        phone = normalise_mobile(self.cleaned_data["phone"])
        if not sms.valid_mainland_mobile(phone):
            raise forms.ValidationError(
                _("Enter a mainland mobile number: 11 digits starting with 13 to 19."),
                code="invalid_mobile",
            )
        return phone


class SmsCodeForm(forms.Form):
    """The 6-digit code from the text message."""

    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=12,
        help_text=_("Six digits, valid for 5 minutes."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError(
                _("Enter the six digits of the text message."), code="invalid_code"
            )
        return code


class SignUpForm(SetPasswordForm):
    """The last sign-up step: a display name and a password (checked by the validators
    against the new account's number and name)."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=50,
        help_text=_("How neighbours and the committee see you."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )
    field_order = ["name", "new_password1", "new_password2"]

    def __init__(self, *args, phone: str, **kwargs):
        super().__init__(User(phone=phone), *args, **kwargs)
        self.fields["new_password1"].widget.attrs.pop("autofocus", None)

    def clean_name(self):
        name = clean_text(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(_("Enter your name."), code="required")
        self.user.name = name
        return name

    def save(self, commit=True):  # pragma: no cover - the view calls user_sign_up
        raise NotImplementedError("use accounts.services.user_sign_up")
