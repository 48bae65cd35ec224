"""The pure rules behind probe's network options: which proxy applies (curl's environment
rules, no_proxy), proxy URLs, --resolve/--connect-to, and who answered a response."""

from __future__ import annotations

import re

import pytest

from wsaccept_cli.core.intermediaries import PRODUCTS, identify
from wsaccept_cli.core.pins import PinError, Pins
from wsaccept_cli.core.proxyenv import ProxyError, ProxyURL, bypassed_by, choose_proxy


@pytest.mark.parametrize(
    ("secure", "environ", "source"),
    [
        (False, {"http_proxy": "p:1"}, "http_proxy"),
        (False, {"HTTP_PROXY": "p:1"}, None),  # curl never reads it (httpoxy)
        (False, {"https_proxy": "p:1"}, None),
        (True, {"https_proxy": "p:1", "HTTPS_PROXY": "q:1"}, "https_proxy"),
        (True, {"HTTPS_PROXY": "q:1"}, "HTTPS_PROXY"),
        (True, {"http_proxy": "p:1"}, None),
        (False, {"ws_proxy": "w:1", "http_proxy": "p:1"}, "ws_proxy"),
        (True, {"WSS_PROXY": "w:1", "https_proxy": "p:1"}, "WSS_PROXY"),
        (True, {"all_proxy": "a:1", "ALL_PROXY": "b:1"}, "all_proxy"),
        (False, {"ALL_PROXY": "b:1"}, "ALL_PROXY"),
        (False, {"http_proxy": "", "all_proxy": "a:1"}, "all_proxy"),
    ],
)
def test_the_environment_is_read_as_curl_reads_it(
    secure: bool, environ: dict[str, str], source: str | None
) -> None:
    choice = choose_proxy(secure, "example.com", environ=environ)
    assert choice.source == source
    assert (choice.proxy is None) == (source is None)


def test_the_option_wins_and_the_empty_option_ignores_the_environment() -> None:
    environ = {"http_proxy": "http://env:1"}
    chosen = choose_proxy(False, "h", option="socks5h://opt:2", environ=environ)
    assert chosen.proxy is not None
    assert chosen.proxy.display == "socks5h://opt:2"
    assert choose_proxy(False, "h", option="", environ=environ).proxy is None


@pytest.mark.parametrize(
    ("host", "exceptions", "matched"),
    [
        ("example.com", "example.com", "example.com"),
        ("api.example.com", ".example.com", ".example.com"),
        ("api.example.com", "example.com", "example.com"),
        ("badexample.com", "example.com", None),
        ("anything", "*", "*"),
        ("10.1.2.3", "10.0.0.0/8", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3", "10.1.2.3"),
        ("11.1.2.3", "10.0.0.0/8", None),
        ("::1", "[::1]", "[::1]"),
        ("localhost", " foo , localhost ", "localhost"),
        ("EXAMPLE.com.", "example.COM", "example.COM"),
    ],
)
def test_no_proxy_matching(host: str, exceptions: str, matched: str | None) -> None:
    assert bypassed_by(host, exceptions) == matched


def test_noproxy_option_overrides_the_variable() -> None:
    environ = {"https_proxy": "p:1", "no_proxy": "example.com"}
    assert choose_proxy(True, "example.com", environ=environ).proxy is None
    chosen = choose_proxy(True, "example.com", noproxy="other", environ=environ)
    assert chosen.proxy is not None
    assert choose_proxy(True, "example.com", noproxy="*", option="p:2").reason == (
        "--noproxy matches '*', so --proxy is not used"
    )


def test_proxy_urls() -> None:
    proxy = ProxyURL("http://us%40r:p%3Ass@Proxy.example:3128")
    assert (proxy.user, proxy.password, proxy.host, proxy.port) == (
        "us@r", "p:ss", "proxy.example", 3128,
    )  # fmt: skip
    assert proxy.display == "http://us@r@proxy.example:3128"
    assert proxy.basic_credentials() == "Basic dXNAcjpwOnNz"
    assert proxy.secrets() == ["p:ss", "dXNAcjpwOnNz"]
    assert ProxyURL("proxy:8080").scheme == "http"
    assert ProxyURL("https://p").port == 443
    assert ProxyURL("socks5://p").port == 1080
    assert ProxyURL("socks4a://[::1]:9").display == "socks4a://[::1]:9"
    assert ProxyURL("http://p").basic_credentials() is None
    assert ProxyURL("http://b\u00fccher.example").host == "xn--bcher-kva.example"
    assert ProxyURL("http://u:\udcff@p").basic_credentials() == "Basic dTr/"
    for bad, message in [
        ("ftp://p", "the proxy scheme 'ftp' is not one of"),
        ("http://u:secret@:1", "'http://u:…@:1': the proxy URL has no host"),
        ("http://p:0", "the proxy port is not a TCP port"),
        ("http://p\r\n:1", "control character"),
        ("http://\udcff:1", "the proxy host is not a host name"),
    ]:
        with pytest.raises(ProxyError, match=re.escape(message)):
            ProxyURL(bad)
    with pytest.raises(ProxyError, match=r"^https_proxy: "):
        choose_proxy(True, "h", environ={"https_proxy": "gopher://x"})


def test_pins() -> None:
    pins = Pins.parse(
        ("app.test:443:10.0.0.7,[::1]", "*:80:127.0.0.1"),
        ("app.test:443:backend.test:8443", ":81::82"),
    )
    assert pins.destination("app.test", 443) == (
        "backend.test",
        8443,
        "app.test:443:backend.test:8443",
    )
    assert pins.destination("x.test", 81) == ("x.test", 82, ":81::82")
    assert pins.destination("x.test", 83) == ("x.test", 83, None)
    assert pins.addresses("app.test", 443) == (["10.0.0.7", "::1"], "app.test:443:10.0.0.7,[::1]")
    assert pins.addresses("other", 80) == (["127.0.0.1"], "*:80:127.0.0.1")
    assert pins.addresses("other", 81) is None
    assert Pins.parse(("+[::1]:80:::1",)).addresses("::1", 80) == (["::1"], "+[::1]:80:::1")
    for resolve in (":80:1.2.3.4", "h:x:1.2.3.4", "h:80:nope", "h:80", "b\u00fccher:80:::1"):
        with pytest.raises(PinError):
            Pins.parse((resolve,))


def header_of(headers: dict[str, str]):  # type: ignore[no-untyped-def]
    lowered = {name.lower(): value for name, value in headers.items()}
    return lambda name: [lowered[name]] if name in lowered else []


@pytest.mark.parametrize(
    ("status", "headers", "body", "name", "answered"),
    [
        (400, {"Server": "nginx/1.25.3"}, [], "nginx", False),
        (502, {"Server": "nginx"}, ["<hr><center>nginx</center>"], "nginx", True),
        (503, {}, ["No server is available to handle this request."], "HAProxy", True),
        (503, {"server": "envoy"}, ["no healthy upstream"], "Envoy", True),
        (426, {"Server": "Apache/2.4.57 (Debian)"}, [], "Apache httpd", False),
        (403, {"Server": "cloudflare", "CF-RAY": "8a1b-AMS"}, [], "Cloudflare", False),
        (400, {"X-Amz-Cf-Id": "abc", "Via": "1.1 x.cloudfront.net (CloudFront)"}, [],
         "Amazon CloudFront", False),
        (504, {"Server": "awselb/2.0"}, [], "an AWS load balancer", True),
        (400, {"X-Served-By": "cache-ams21"}, [], "Fastly", False),
        (400, {"Via": "1.1 varnish (Varnish/7.4)"}, [], "Varnish", False),
        (101, {"Via": "1.1 google"}, [], "Google Cloud Load Balancing", False),
        (400, {"Via": "1.1 vegur"}, [], "the Heroku router", False),
    ],
)  # fmt: skip
def test_who_answered(
    status: int, headers: dict[str, str], body: list[str], name: str, answered: bool
) -> None:
    found = identify(status, header_of(headers), body)
    assert found is not None
    assert (found.name, found.answered) == (name, answered)
    assert found.describe(status)
    assert found.as_dict()["fix"] == found.product.fix


def test_nothing_recognised_and_every_product_has_a_fix() -> None:
    assert identify(400, header_of({"Server": "websockets/14"}), ["Failed"]) is None
    assert all(product.fix and product.idle for product in PRODUCTS)
    nginx = identify(400, header_of({"Server": "nginx"}), [])
    assert nginx is not None
    assert "proxy_http_version 1.1" in nginx.describe(400)
    assert nginx.describe(101).startswith("passed through nginx (Server: nginx)")
    haproxy = identify(503, header_of({}), ["No server is available to handle this request."])
    assert haproxy is not None
    assert "error log" in haproxy.describe(503)
    apache = identify(404, header_of({}), ["<address>Apache/2.4 Server at x Port 80</address>"])
    assert apache is not None
    assert "upgrade=websocket" in apache.describe(404)
