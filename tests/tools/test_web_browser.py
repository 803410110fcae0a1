# SPDX-License-Identifier: LGPL-2.1-or-later
"""`pvshm web` in a real browser: headless Chromium driven by Selenium against videotestsrc ->
pvshmsink producers in other processes. The pictures are checked by the colours of screenshots,
the facts by their change as frames arrive, the plots by their pixels, and every request the
pages make by the browser's own network log."""

import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from web_support import BLUE, RED, WAIT, line, wait_for_frames, web_id  # noqa: F401

# JPEG through limited-range YUV and the browser's scaling stay this close to a flat colour.
TOLERANCE = 16
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,900")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="python3-selenium is missing")
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    if not driver_path or not shutil.which("chromium"):
        pytest.skip("chromium and chromium-driver are not installed")
    profile = tempfile.mkdtemp(prefix="pvshm-web-chromium-")
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_until(driver, condition, message):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(condition, message)


def picture_colour(element):
    """The colour at the centre of an element's screenshot (RGB)."""
    cv2 = pytest.importorskip("cv2", reason="python3-opencv decodes the screenshots")
    import numpy

    image = cv2.imdecode(numpy.frombuffer(element.screenshot_as_png, numpy.uint8),
                         cv2.IMREAD_COLOR)
    blue, green, red = image[image.shape[0] // 2, image.shape[1] // 2]
    return int(red), int(green), int(blue)


def close(rgb, expected):
    return all(abs(a - b) <= TOLERANCE for a, b in zip(rgb, expected))


def tile(driver, shared_mem_id):
    found = driver.find_elements("css selector", f'.tile[data-id="{shared_mem_id}"]')
    return found[0] if found else None


def tile_showing(driver, shared_mem_id, colour):
    """The id's tile once it is live and its picture, on screen, is of `colour`."""

    def ready(driver):
        node = tile(driver, shared_mem_id)
        if not node or node.get_attribute("data-state") != "live":
            return False
        image = node.find_element("css selector", ".picture img")
        if not driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                     image):
            return False
        return close(picture_colour(image), colour) and node

    return wait_until(driver, ready, f"no live tile of {shared_mem_id} showing {colour}")


def requested_urls(driver, origin=None):
    """Every URL asked for since the last call (the browser's performance log) by documents of
    `origin` (scheme://host:port/), or by any document."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        params = message["params"]
        if origin is None or params.get("documentURL", "").startswith(origin):
            urls.append(params["request"]["url"])
    return urls


def assert_only_this_server(driver, console):
    origin = urlsplit(console.url)
    urls = requested_urls(driver, console.url)
    assert urls, "no request of the page seen in the performance log"
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("data", "blob") or (parts.scheme, parts.netloc) == \
            (origin.scheme, origin.netloc), url


def keep_screenshot(driver, name):
    """Saved where PVSHM_WEB_SCREENSHOTS says (the README's picture comes from here)."""
    directory = os.environ.get("PVSHM_WEB_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(directory) / name))


def test_overview_shows_every_id_live_new_ones_without_reload_and_a_dead_one_apart(
        line, browser, request):
    first, second, result = (web_id(request, name) for name in ("camera1", "camera2", "result"))
    line.produce(first, RED, width=640, height=480)
    ended = line.produce(result, pattern="smpte", width=320, height=240, rate=10)
    console = line.serve()
    wait_for_frames(console, result)
    ended.kill()
    browser.get(console.url)
    browser.execute_script("window.notReloaded = true")
    tile_showing(browser, first, RED)
    dead = wait_until(browser, lambda d: tile(d, result) is not None and
                      tile(d, result).get_attribute("data-state") == "dead" and tile(d, result),
                      "the id whose writer died is not shown dead")
    assert "dead" in dead.find_element("css selector", ".badge").text.lower()

    line.produce(second, BLUE, width=640, height=360)
    tile_showing(browser, second, BLUE)
    assert browser.execute_script("return window.notReloaded === true"), "the page was reloaded"
    # The dead id looks different at a glance: its picture is greyed under a word.
    assert dead.find_element("css selector", ".overlay").is_displayed()
    assert not tile(browser, first).find_element("css selector", ".overlay").is_displayed()
    keep_screenshot(browser, "web-overview.png")
    assert_only_this_server(browser, console)


def test_id_page_facts_change_and_plots_draw(line, browser, request):
    camera = web_id(request)
    line.produce(camera, RED, extra=("camera-id=line-4-camera",))
    console = line.serve()
    wait_for_frames(console, camera)
    browser.set_window_size(1400, 1100)  # the plots in the screenshot too
    browser.get(console.url + f"ids/{camera}")

    def fact(name):
        # Read in one go: the page rewrites the table at every refresh.
        return browser.execute_script("""
            for (const row of document.querySelectorAll("#facts tr"))
              if (row.cells[0].textContent === arguments[0]) return row.cells[1].textContent;
            return null;""", name)

    first = wait_until(browser, lambda d: fact("Sequence") not in (None, "–") and fact("Sequence"),
                       "no sequence shown")
    wait_until(browser, lambda d: fact("Sequence") != first, "the sequence does not change")
    assert fact("Camera id") == "line-4-camera"
    assert fact("Size") == "320×240"
    picture = browser.find_element("id", "picture")
    wait_until(browser, lambda d: d.execute_script("return arguments[0].width", picture)
               == 320, "no live picture")
    assert close(picture_colour(picture), RED)
    assert browser.find_element("id", "snapshot").get_attribute("href").endswith(
        f"/api/ids/{camera}/snapshot.png")

    # Each plot holds the samples taken since the page opened; those of nonzero values (the
    # rate and the age: no frame is dropped here) draw their line, in their own colour.
    for plot in ("rate", "age", "drops"):
        wait_until(browser, lambda d: d.execute_script(
            "return plots[arguments[0]].numRows() >= 4", plot), f"the {plot} plot has no data")
    for plot, colour in (("rate", (77, 163, 255)), ("age", (240, 160, 32))):
        wait_until(browser, lambda d: d.execute_script("""
            const [r, g, b] = arguments[1];
            for (const canvas of document.querySelectorAll(`#plot-${arguments[0]} canvas`)) {
              const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
              for (let i = 0; i < data.length; i += 4)
                if (Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8 &&
                    Math.abs(data[i + 2] - b) < 8 && data[i + 3] > 200) return true;
            }
            return false;""", plot, colour), f"the {plot} plot draws nothing")
    keep_screenshot(browser, "web-id.png")
    assert_only_this_server(browser, console)

    # An algorithm's result id: its frame's user metadata, its writer gone.
    result = web_id(request, "result")
    line.write_result(result, {"part": "A17", "score": 0.93})
    browser.get(console.url + f"ids/{result}")
    wait_until(browser, lambda d: d.execute_script("""
        const rows = [...document.querySelectorAll("#metadata tr")].map(
            (row) => row.cells[0].textContent + "=" + row.cells[1].textContent);
        return rows.join(",") === "part=A17,score=0.93";"""), "no user metadata shown")
    assert browser.find_element("id", "badge").text.lower() == "writer dead"
    assert_only_this_server(browser, console)


def test_pages_work_behind_digest_authentication(line, browser, request, tmp_path):
    """Regression: with the credentials in the page's address, fetch() refused every request of
    the page (an address with user:password in it) and the overview stayed empty."""
    camera = web_id(request)
    line.produce(camera, BLUE)
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    password.chmod(0o600)
    console = line.serve("--user", "operator", "--password-file", password)
    browser.get(console.url.replace("http://", "http://operator:s3cret@"))
    tile_showing(browser, camera, BLUE)
    browser.get(console.url.replace("http://", "http://operator:s3cret@") + f"ids/{camera}")
    picture = browser.find_element("id", "picture")
    wait_until(browser, lambda d: d.execute_script("return arguments[0].width", picture)
               == 320, "no live picture on the id page")
    assert close(picture_colour(picture), BLUE)
