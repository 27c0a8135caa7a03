"""What a test may search for personal data in a sent mail."""

# Django fills these in when the message is built: the Message-ID holds a random number and
# the Date the clock, so a search for a few digits of a CPR number would now and then find
# them there (CI failed once on '4285' inside a Message-ID). Nothing of ours is in them.
_GENERATED_HEADERS = ("Message-ID", "Date")


def as_sent(message) -> str:
    """The whole message as it goes over the wire, without the headers Django generates."""
    built = message.message()
    for header in _GENERATED_HEADERS:
        del built[header]
    return built.as_string()
