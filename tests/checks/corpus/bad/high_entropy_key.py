# expect: SEC106
import hmac

STRIPE_WEBHOOK_KEY = "q8Zr2LmV0xT4nB7cYw1KpE3sHj9D"


def verify(payload: bytes, signature: str) -> bool:
    digest = hmac.new(STRIPE_WEBHOOK_KEY.encode(), payload, "sha256").hexdigest()
    return hmac.compare_digest(digest, signature)
