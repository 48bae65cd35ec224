"""The password of a URL, hidden: one redaction for every URL wsaccept prints (a ws:// URL, a
proxy's, one in a message about why it could not be used). Pure code."""

from __future__ import annotations


def url_without_password(url: str) -> str:
    """The URL with its password replaced by '…' (RFC 3986 §3.2.1: a password is never
    rendered): the one redaction of every URL wsaccept prints that it could not take apart,
    a ws:// URL or a proxy's; the user name too when there
    is no password, for then the name is the credential, as display_url has it. An '@' past
    the authority may end a password that holds an unencoded '/', '?' or '#': then everything
    up to the last '@' is hidden, since a message cannot tell."""
    _, slashes, rest = url.partition("://")
    start = len(url) - len(rest)
    end = start + next((i for i, char in enumerate(rest) if char in "/?#\\"), len(rest))
    userinfo, at_sign, _ = url[start:end].rpartition("@")
    if slashes and not at_sign and "@" in rest:
        return url[:start] + "…" + url[url.rindex("@") :]
    if not slashes or not at_sign or not userinfo:
        return url
    user, _, password = userinfo.partition(":")
    hidden = f"{user}:…" if password else "…"
    return url[:start] + hidden + url[start + len(userinfo) :]
