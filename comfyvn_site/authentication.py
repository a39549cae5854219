"""Token authentication that turns away, without a query, a key no token can have."""
from rest_framework import authentication, exceptions

KEY_LENGTH = 40  # rest_framework.authtoken.models.Token.key


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's, except that a key longer than a stored one or holding a control character fails as an invalid token
    before the lookup: `Authorization: Token a\\x00b` reached PostgreSQL, which refuses NUL in text, and answered 500.
    """

    def authenticate_credentials(self, key):
        if len(key) > KEY_LENGTH or not key.isprintable():
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
