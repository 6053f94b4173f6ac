"""HTML from Jinja2 templates, PDF by WeasyPrint from the same HTML.

The HTML is self-contained (inline CSS and SVG, no CDN, no remote font). WeasyPrint
fetches only `file:` and `data:` URLs: any other URL is refused, so rendering a
statement never touches the network.
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rosp.errors import RospError

TEMPLATES = "templates"
ALLOWED_SCHEMES = ("file:", "data:")


class RenderError(RospError):
    """The rendering toolchain is missing or refused a resource."""


@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    root = Path(str(resources.files("rosp.report") / TEMPLATES))
    return Environment(
        loader=FileSystemLoader(str(root)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def css() -> str:
    return (Path(str(resources.files("rosp.report") / TEMPLATES)) / "base.css").read_text(encoding="utf-8")


def font_face() -> str:
    """@font-face rules pointing at the DejaVu Sans files vl-convert uses (file: URLs)."""
    from rosp.report.charts import font_dir

    d = font_dir()
    rules = []
    for weight, name in (("normal", "DejaVuSans.ttf"), ("bold", "DejaVuSans-Bold.ttf")):
        if (d / name).exists():
            rules.append(
                f'@font-face {{ font-family: "DejaVu Sans"; font-weight: {weight}; '
                f'src: local("DejaVu Sans"), url("{(d / name).as_uri()}"); }}'
            )
    return "\n".join(rules)


def render_template(name: str, **context) -> str:
    return _env().get_template(name).render(css=css(), font_face=font_face(), **context)


def check_url(url: str) -> None:
    """Refuse every URL that is not file: or data:."""
    if not url.startswith(ALLOWED_SCHEMES):
        raise RenderError(f"refused to fetch {url!r}: only file: and data: URLs are allowed")


def safe_url_fetcher(url: str, *args, **kwargs):
    """Fetch a file: or data: URL for WeasyPrint; anything else raises RenderError."""
    check_url(url)
    return _fetcher().fetch(url, *args, **kwargs) if hasattr(_fetcher(), "fetch") else _fetcher()(url)


@lru_cache(maxsize=1)
def _fetcher():
    """WeasyPrint's own fetcher restricted to file and data (WeasyPrint ≥ 67 has URLFetcher)."""
    import weasyprint

    if hasattr(weasyprint, "URLFetcher"):

        class LocalURLFetcher(weasyprint.URLFetcher):
            def fetch(self, url, headers=None):
                check_url(url)
                return super().fetch(url, headers)

        return LocalURLFetcher(allowed_protocols=("file", "data"))
    from weasyprint import default_url_fetcher  # WeasyPrint < 67

    def fetch(url, *args, **kwargs):
        check_url(url)
        return default_url_fetcher(url, *args, **kwargs)

    return fetch


@lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def html_to_pdf(html: str, out: Path, base_url: Path | None = None) -> Path:
    """Write the PDF of `html` to `out` (WeasyPrint, local resources only)."""
    try:
        from weasyprint import HTML
    except OSError as exc:  # pango/cairo missing
        raise RenderError(
            f"WeasyPrint cannot load its system libraries ({exc}); install them with "
            "`apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0` (or `make system-deps`)"
        ) from None
    base = (base_url or Path.cwd()).resolve().as_uri() + "/"
    HTML(string=html, base_url=base, url_fetcher=_fetcher()).write_pdf(
        str(out), font_config=_font_config()
    )
    return out


def require_tool(name: str, package: str) -> str:
    """Path of an executable, or a RenderError saying which apt package provides it."""
    path = shutil.which(name)
    if path is None:
        raise RenderError(f"`{name}` not found: install it with `apt-get install -y {package}` (or `make system-deps`)")
    return path
