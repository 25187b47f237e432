"""The app installs (Chromium's own verdict), works from the service worker's cache, and the app
shell stays within its size budget."""

from __future__ import annotations

import gzip

from server.config import PROJECT_ROOT
from tests.browser.conftest import CHROMIUM_ARGS

SHELL_BUDGET = 80 * 1024  # bytes, gzip-compressed
SHELL_SUFFIXES = (".html", ".css", ".js", ".webmanifest")


def test_chromium_finds_no_installability_errors(
    playwright_instance, chromium_path, base_url, tmp_path
):
    # A persistent profile: a plain context counts as incognito, where apps cannot be installed.
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=chromium_path, args=CHROMIUM_ARGS
    )
    try:
        page = context.new_page()
        page.goto(base_url + "/")
        page.evaluate("navigator.serviceWorker.ready")
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [], manifest["errors"]
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        print(f"\nPage.getInstallabilityErrors: {errors}")
        assert errors == []
        # The shell is precached under a versioned name.
        names = page.evaluate("caches.keys()")
        assert any(name.startswith("limber-shell-") for name in names), names
    finally:
        context.close()


def test_app_shell_fits_the_budget():
    files = sorted(p for p in (PROJECT_ROOT / "pwa").rglob("*") if p.suffix in SHELL_SUFFIXES)
    sizes = {str(p.relative_to(PROJECT_ROOT)): len(gzip.compress(p.read_bytes(), 9)) for p in files}
    total = sum(sizes.values())
    raw = sum(p.stat().st_size for p in files)
    print(
        f"\napp shell: {len(files)} files, {raw / 1024:.1f} KB raw, {total / 1024:.1f} KB gzip (budget {SHELL_BUDGET // 1024} KB)"
    )
    assert total <= SHELL_BUDGET, sorted(sizes.items(), key=lambda item: -item[1])[:5]
