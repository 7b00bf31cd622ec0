"""The built site as a reader sees it, checked in headless Chromium (make browser-test).

    python tools/browser_test.py [HTML_DIR]     # default: _build/html
    python tools/browser_test.py --self-test    # each check must fail on a page made to break it

Run without a network (tools/offline.sh): pages are served from 127.0.0.1. At 400 px (a
phone) and 1280 px, on every page of the book:
- the maths is rendered: no raw \\( \\[ $$ left in the text, no MathJax error;
- nothing is wider than the window (the page never scrolls sideways);
- every figure in a notebook's output has a caption;
- at 1280 px no figure is shrunk so much that its smallest text (8 pt at 100 dpi, the
  smallest size the book's figures use; tests/test_figures.py) falls below 9 px, and no
  code block scrolls sideways (its lines fit: tests/test_book.py, custom.css);
- every solution toggle opens, and the checks below measure each page with every solution
  and hidden cell open;
- no maths is wider than the box that clips it, unless that box scrolls sideways, and no
  formula that fits scrolls;
- no table cell breaks a word across lines (a table too wide scrolls instead), and no
  printed table hides columns or rows behind a '...' cell;
- docstring code on the API page is code: no reST title reference (<cite>), no curly quote
  in code (nor any on the API page), and no raw MyST role ({glue:text}`...`) left in any
  page's text;
- nothing is logged to the console as an error;
- no link downloads a source notebook (.ipynb: MyST roles unrendered; the launch buttons
  open the reader notebooks);
and on the first page the navigation opens and shows the table of contents. Screenshots of
three pages at both widths go to _build/browser/ for a person to look at.
"""
import collections
import functools
import http.server
import sys
import tempfile
import threading
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (400, 1280)
SMALLEST_TEXT_PX = 8 / 72 * 100  # 8 pt at the figures' 100 dpi
MIN_SCALE = 9 / SMALLEST_TEXT_PX  # shown at less than this, text is smaller than 9 px
PHONE_MIN_SCALE = 7 / SMALLEST_TEXT_PX  # on a phone, 7 px (_ext/figure_scale.py)
PHONE = 600  # px: narrower windows are phones (the contents open as a dialog)
# a table cell holding a phrase (more than 30 characters, as _ext/table_text.py counts) is
# at least 10 em wide, and no table row is taller than 600 px: a phone's column of phrases
# beside formulas and code was squeezed to a word or two a line (linear_mtl, 1,765 px)
PHRASE_CHARS, MIN_PHRASE_EM, MAX_ROW_PX = 30, 10, 600
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # npm ci (package-lock.json)
SCRIPT_SECONDS, AXE_SECONDS = 30, 180  # the longest a page's script, axe-core's run, may take
# axe-core's findings at these impacts fail the test, except those of the theme's own markup
# that the book cannot change (rule, CSS selector of the element, why it is allowed)
AXE_FAILS = ("critical", "serious")
AXE_ALLOWED = [
    ("label-content-name-mismatch", ".theme-switch-button",
     "pydata-sphinx-theme's colour-mode button is named 'Color mode' while its icons carry "
     "the titles Light, Dark and System Settings (the theme's template)"),
    ("label-content-name-mismatch", ".search-button-field",
     "pydata-sphinx-theme's search button is named 'Search' while it shows the shortcut "
     "Ctrl+K beside the word (the theme's template)"),
]
SHOTS = ("book/why_mtl.html", "book/soft_sharing.html", "book/labs/lab_sharing.html")

WAIT_FOR_MATHS = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done(true), () => done(false));
} else { done(true); }
"""
PAGE_FACTS = """
const text = document.body.cloneNode(true);
text.querySelectorAll("pre, code, script, style, textarea, mjx-container").forEach(e => e.remove());
const raw = ["\\\\(", "\\\\[", "$$"].filter(m => text.textContent.includes(m));
const scrolls = "pre, .table-wrapper, .output, .cell_output figure";
const wide = [...document.querySelectorAll("body *")].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > window.innerWidth + 1 && !e.closest(scrolls);
}).slice(0, 3).map(e => e.tagName.toLowerCase() + "." + [...e.classList].join("."));
const captioned = i => i.closest("figure") && i.closest("figure").querySelector("figcaption");
const images = [...document.querySelectorAll(".cell_output img")];
const scale = i => i.getBoundingClientRect().width / i.naturalWidth;
// an image's alt text must describe it: not empty, not its file's name or path, no hash
const file = i => decodeURIComponent((i.getAttribute("src") || "").split(/[?#]/)[0]
    .split("/").pop());
const badAlt = i => {
    const alt = (i.getAttribute("alt") || "").trim(), name = file(i);
    const stem = name.replace(/\\.[a-z0-9]+$/i, "");
    return !alt || /\\.(png|jpe?g|svg|gif|webp)\\b/i.test(alt) || /[0-9a-f]{16,}/i.test(alt)
        || (stem.length > 3 && alt.includes(stem));
};
return {raw: raw, alts: [...document.querySelectorAll("img")].filter(badAlt)
            .map(i => (i.getAttribute("alt") || "(none)").slice(0, 60)),
        errors: document.querySelectorAll("mjx-merror").length,
        scroll: document.documentElement.scrollWidth - window.innerWidth, wide: wide,
        uncaptioned: images.filter(i => !captioned(i)).length,
        scales: images.filter(i => i.naturalWidth > 0).map(scale),
        code: [...document.querySelectorAll("div.highlight pre")]
            .filter(p => !p.closest(".cell_output"))  // printed output may scroll
            .filter(p => p.scrollWidth > p.clientWidth + 1).length};
"""

OPEN_HIDDEN_CELLS = """
document.querySelectorAll("details:not([open]) > summary").forEach(s => s.click());
"""
CLIPPED_MATHS = """
const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
const clipper = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") return a;
    }
    return null;
};
const clipped = [...document.querySelectorAll("mjx-container")].filter(m => {
    const r = m.getBoundingClientRect();
    if (r.width === 0) return false;
    const box = clipper(m);
    const edge = box ? box.getBoundingClientRect() : {left: 0, right: window.innerWidth};
    const outside = r.left < edge.left - 1 || r.right > edge.right + 1;
    return outside && !(box && scrolls(box));
});
// a formula's box that scrolls although the formula as drawn (mjx-math) fits in it: a
// scroll bar for nothing (MathJax's hidden copy for screen readers, an accent)
const idle = [...document.querySelectorAll("span.math")].filter(s => {
    const drawn = s.querySelector("mjx-math");
    if (!drawn || s.getBoundingClientRect().width === 0 || !scrolls(s)) return false;
    return s.scrollWidth > s.clientWidth + 1
        && drawn.getBoundingClientRect().right <= s.getBoundingClientRect().right + 1;
});
return {clipped: clipped.length, idle: idle.map(s => s.textContent.slice(0, 30))};
"""
BROKEN_WORDS = """
const found = [];
for (const cell of document.querySelectorAll("td, th")) {
    if (cell.getBoundingClientRect().width === 0) continue;
    const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
        for (const word of node.textContent.matchAll(/[^\\s\\/\u2013\u2014-]{2,}/g)) {
            const range = document.createRange();
            range.setStart(node, word.index);
            range.setEnd(node, word.index + word[0].length);
            const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (lines.size > 1) found.push(word[0]);
        }
    }
}
return found;
"""
TABLE_FACTS = """
const [phraseChars, minEm] = arguments;
const cells = [...document.querySelectorAll("td, th")];
const texts = cells.map(c => c.textContent.replace(/\\s+/g, " ").trim());
const em = parseFloat(getComputedStyle(document.body).fontSize);
const width = c => c.getBoundingClientRect().width;
const squeezed = cells.filter((c, i) => texts[i].length > phraseChars && width(c) > 0
    && width(c) < minEm * em && !c.querySelector("mjx-container"));  // maths sets its width
const rows = [...document.querySelectorAll("table tr")]
    .map(r => r.getBoundingClientRect().height);
return {squeezed: squeezed.map(c => c.textContent.trim().slice(0, 30)),
        hidden: texts.filter(t => ["...", "\u2026"].includes(t)).length,
        cut: texts.filter(t => t.length > 3 && /(\\.\\.\\.|\u2026)$/.test(t))
            .map(t => t.slice(-40)),
        tallest: Math.max(0, ...rows)};
"""
TEXT_FACTS = """
const prose = document.body.cloneNode(true);
prose.querySelectorAll("pre, code, script, style, textarea, mjx-container")
    .forEach(e => e.remove());
const code = [...document.querySelectorAll("code, div.highlight pre")]
    .filter(c => !c.closest(".cell_output"));  // printed output is what the code printed
const own = a => a.href.startsWith(location.origin);
const article = document.querySelector(".bd-article") || document.body;
return {cites: document.querySelectorAll("cite").length,
        roles: prose.textContent.match(/\\{glue[^\\s]*|\\{[a-z][\\w:-]*\\}`/g) || [],
        quoted: (article.textContent.match(/[\u201c\u201d][^\u201c\u201d]{0,30}/g) || []),
        curly: code.filter(c => /[\u2018\u2019\u201c\u201d]/.test(c.textContent))
            .map(c => c.textContent.slice(0, 40)),
        notebooks: [...document.querySelectorAll("a[href]")]
            .filter(a => own(a) && /\\.ipynb([?#]|$)/.test(a.href)).map(a => a.href)};
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def browser(width: int):
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},900", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    # a window cannot be narrower than 500 px: emulate the phone's screen instead
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.set_script_timeout(SCRIPT_SECONDS)
    return driver


def open_toggles(driver) -> list:
    """Click every solution toggle (each must open) and open every hidden cell, so that the
    page is measured with everything a reader can open."""
    shut = 0
    for button in driver.find_elements(By.CSS_SELECTOR, ".dropdown .toggle-button"):
        admonition = button.find_element(
            By.XPATH, "./ancestor::div[contains(@class, 'dropdown')][1]")
        body = admonition.find_elements(By.CSS_SELECTOR, ":scope > :not(.admonition-title)")
        try:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
            button.click()
            WebDriverWait(driver, 3).until(lambda _, body=body: body and body[0].is_displayed())
        except (TimeoutException, WebDriverException):
            shut += 1
    driver.execute_script(OPEN_HIDDEN_CELLS)
    return [f"{shut} solution toggles do not open"] if shut else []


def layout_problems(driver, width: int) -> list:
    facts = driver.execute_script(PAGE_FACTS)
    found = []
    if facts["raw"] or facts["errors"]:
        found.append(f"maths not rendered (raw {facts['raw']}, {facts['errors']} MathJax errors)")
    if facts["scroll"] > 1:
        found.append(f"the page scrolls sideways by {facts['scroll']} px ({facts['wide']})")
    if facts["uncaptioned"]:
        found.append(f"{facts['uncaptioned']} figures without a caption")
    if facts["alts"]:
        found.append(f"{len(facts['alts'])} images whose alt text is empty, a file name or "
                     f"a hash: {facts['alts'][:2]} (cell metadata mystnb.image.alt)")
    smallest, least = (9, MIN_SCALE) if width >= 1280 else (7, PHONE_MIN_SCALE)
    shrunk = [s for s in facts["scales"] if s < least]
    if shrunk:
        found.append(f"{len(shrunk)} figures shrunk to {min(shrunk):.0%}: their text is "
                     f"below {smallest} px; make them narrower (or let them scroll: "
                     "_ext/figure_scale.py)")
    if facts["code"] and width >= 1280:
        found.append(f"{facts['code']} code blocks scroll sideways: wrap their long lines")
    return found


def clipped_maths_problems(driver) -> list:
    facts = driver.execute_script(CLIPPED_MATHS)
    found = []
    if facts["clipped"]:
        found.append(f"{facts['clipped']} formulas clipped: wider than their box, which does "
                     "not scroll")
    if facts["idle"]:
        found.append(f"{len(facts['idle'])} formulas scroll sideways for nothing: they fit "
                     f"({facts['idle'][:3]})")
    return found


def table_problems(driver) -> list:
    broken = driver.execute_script(BROKEN_WORDS)
    cells = driver.execute_script(TABLE_FACTS, PHRASE_CHARS, MIN_PHRASE_EM)
    found = [f"{len(broken)} words broken across lines in table cells ({broken[:3]}): the "
             "table should scroll instead"] if broken else []
    if cells["hidden"]:
        found.append(f"{cells['hidden']} table cells read '...': pandas hid columns or rows "
                     "of a printed table (mt.setup shows every column)")
    if cells["cut"]:
        found.append(f"{len(cells['cut'])} table cells end in '...', their text cut "
                     f"(pandas' max_colwidth; mt.setup shows it whole): {cells['cut'][:2]}")
    if cells["squeezed"] or cells["tallest"] > MAX_ROW_PX:
        found.append(f"a table squeezed: {len(cells['squeezed'])} cells of phrases narrower "
                     f"than {MIN_PHRASE_EM} em ({cells['squeezed'][:2]}), its tallest row "
                     f"{cells['tallest']:.0f} px (_ext/table_text.py)")
    return found


def text_problems(driver, url: str) -> list:
    facts = driver.execute_script(TEXT_FACTS)
    found = []
    if url.endswith("api.html") and facts["quoted"]:  # docstrings quote Python values
        found.append(f"{len(facts['quoted'])} curly quotes on the API page: "
                     f"{facts['quoted'][:3]}")
    if facts["cites"]:
        found.append(f"{facts['cites']} <cite> elements: code in single backticks read as "
                     "a reST title reference")
    if facts["curly"]:
        found.append(f"curly quotes in code: {facts['curly'][:3]}")
    if facts["roles"]:
        found.append(f"raw MyST roles in the text: {facts['roles'][:3]}")
    if facts["notebooks"]:
        found.append(f"links download source notebooks: {facts['notebooks'][:2]}")
    return found


RUN_AXE = """
const [allowed, done] = [arguments[0], arguments[arguments.length - 1]];
// an element the allow-list names: (rule, CSS selector of the element) -> its index, or -1
const allowance = (rule, target) => {
    const element = document.querySelector(target.join(" "));
    return allowed.findIndex(([r, s]) => r === rule && element && element.matches(s));
};
// measured at rest: a solution still fading in has paler colours than it will have (an
// endless animation, a spinner, is not waited for; none waits more than 3 s)
const ending = document.getAnimations()
    .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
    .map(a => a.finished.catch(() => null));
const rest = new Promise(resolve => setTimeout(resolve, 3000));
Promise.race([Promise.all(ending), rest])
    .then(() => axe.run(document, {resultTypes: ["violations"]}))
    .then(r => done(r.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => [n.target.join(" "), allowance(v.id, n.target)])}))),
        e => done(String(e)));
"""
AXE_SEEN = collections.Counter()  # (impact, rule) -> elements, over every page and width
AXE_ALLOWED_SEEN = collections.Counter()  # index in AXE_ALLOWED -> elements


def accessibility_problems(driver) -> list:
    """axe-core's violations at a failing impact (AXE_FAILS), less the allowed ones."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(AXE_SECONDS)  # a long page on a busy machine
    try:
        violations = driver.execute_async_script(
            RUN_AXE, [[rule, selector] for rule, selector, _ in AXE_ALLOWED])
    finally:
        driver.set_script_timeout(SCRIPT_SECONDS)
    if isinstance(violations, str):
        return [f"axe-core did not run: {violations}"]
    found = []
    for v in violations:
        AXE_SEEN[(v["impact"], v["rule"])] += len(v["nodes"])
        AXE_ALLOWED_SEEN.update(index for _, index in v["nodes"] if index >= 0)
        failing = [target for target, index in v["nodes"] if index < 0]
        if failing and v["impact"] in AXE_FAILS:
            found.append(f"axe {v['impact']} {v['rule']} ({v['help']}): {len(failing)} "
                         f"elements, {failing[:2]}")
    return found


def axe_summary() -> str:
    counts = collections.Counter()
    for (impact, _), n in AXE_SEEN.items():
        counts[impact] += n
    lines = ["axe-core: elements found, by impact (every page at both widths, allowed "
             "ones included): " + ", ".join(f"{i} {counts[i]}" for i in
                                            ("critical", "serious", "moderate", "minor"))]
    lines += [f"  {impact} {rule}: {n}" for (impact, rule), n in sorted(AXE_SEEN.items())]
    for index, (rule, selector, why) in enumerate(AXE_ALLOWED):
        lines.append(f"allowed: {rule} on {selector} ({AXE_ALLOWED_SEEN[index]} found): "
                     f"{why}")
    return "\n".join(lines)


OPEN_CONTENTS = """
const toggle = [...document.querySelectorAll(".secondary-toggle")]
    .find(b => b.getBoundingClientRect().width > 0);
if (!toggle) return null;
toggle.click();
const dialog = document.querySelector("dialog#pst-secondary-sidebar-modal");
const link = dialog && dialog.open && dialog.querySelector("a[href^='#']");
if (!link) return "the page's contents do not open as a dialog with links";
link.click();
return dialog.open ? "the page's contents stay open after a tap on an entry" : "";
"""


def contents_problems(driver, width: int) -> list:
    """On a phone, tapping an entry of the page's contents closes them
    (_static/close_contents.js)."""
    if width >= PHONE:
        return []
    problem = driver.execute_script(OPEN_CONTENTS)
    return [problem] if problem else []


def console_problems(driver) -> list:
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return [f"{len(errors)} console errors: {errors[0][:200]}"] if errors else []


def page_problems(driver, url: str, width: int) -> list:
    driver.get_log("browser")  # only this page's messages
    driver.get(url)
    if not driver.execute_async_script(WAIT_FOR_MATHS):
        return ["MathJax did not start"]
    found = open_toggles(driver)
    found += layout_problems(driver, width)
    found += clipped_maths_problems(driver)
    found += table_problems(driver)
    found += text_problems(driver, url)
    found += accessibility_problems(driver)
    found += console_problems(driver)
    found += contents_problems(driver, width)  # last: it scrolls the page
    return found


def navigation_problems(driver, url: str) -> list:
    driver.get(url)
    links = driver.find_elements(By.CSS_SELECTOR, ".bd-sidebar-primary nav a")
    if not any(link.is_displayed() for link in links):
        buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, ".primary-toggle")
                   if b.is_displayed()]
        if not buttons:
            return ["no visible button opens the navigation"]
        buttons[0].click()
        try:
            WebDriverWait(driver, 3).until(lambda _: any(a.is_displayed() for a in links))
        except TimeoutException:
            return ["the navigation does not show the table of contents"]
    return []


def check_site(html: Path, shots: Path = None, pages: list = None) -> list:
    pages = pages or sorted(str(p.relative_to(html)) for p in html.glob("book/**/*.html"))
    server, base = serve(html)
    found = []
    try:
        for width in WIDTHS:
            driver = browser(width)
            try:
                found += [f"{width} px, navigation: {p}"
                          for p in navigation_problems(driver, base + pages[0])]
                for page in pages:
                    found += [f"{width} px, {page}: {p}"
                              for p in page_problems(driver, base + page, width)]
                    if shots and page in SHOTS:
                        shots.mkdir(parents=True, exist_ok=True)
                        name = page.replace("/", "_").replace(".html", f"_{width}.png")
                        driver.save_screenshot(str(shots / name))
            finally:
                driver.quit()
    finally:
        server.shutdown()
    return found


WIDE_IMAGE = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='3000' "
              "height='10'%3E%3C/svg%3E")
SMALL_IMAGE = WIDE_IMAGE.replace("3000", "50")  # a data URL: no request fails (console)
OPENS = "onclick=\"this.parentElement.nextElementSibling.style.display = 'block'\""


def solution(body: str, button: str = OPENS) -> str:
    """A solution whose toggle opens it (a page made to break a check keeps no script)."""
    return ('<div class="dropdown admonition"><p class="admonition-title">Solution'
            f'<button class="toggle-button" {button}>+</button></p>'
            f'<div style="display: none">{body}</div></div>')


WIDE_MATHS = ('<div style="width: 200px; overflow: hidden"><p>so <mjx-container '
              'style="display: inline-block; width: 600px">x</mjx-container></p></div>')
BROKEN = {  # page -> the check it must trip
    "raw.html": ("maths", '<p><span class="math">\\(x^2\\)</span></p>'),
    "code.html": ("code blocks", '<div class="highlight"><pre tabindex="0" style="width: 300px; '
                                 'overflow: auto">'
                                 + "x = 1  # " + "long " * 80 + "</pre></div>"),
    "shrunk.html": ("shrunk", f'<div class="cell_output"><figure><img src="{WIDE_IMAGE}" '
                              'alt="a wide figure" style="max-width: 100%"><figcaption>wide'
                              '</figcaption></figure></div>'),
    "wide.html": ("sideways", '<div style="width: 3000px">wide</div>'),
    "figure.html": ("caption", f'<div class="cell_output"><img src="{SMALL_IMAGE}" '
                               'alt="a small figure" width="50"></div>'),
    "toggle.html": ("toggle", '<div class="dropdown admonition"><p class="admonition-title">'
                              'Solution<button class="toggle-button">+</button></p>'
                              '<div style="display: none">hidden</div></div>'),
    "toggles.html": ("toggle", solution("opens") + solution("stays shut", button="")),
    "clipped.html": ("clipped", solution(WIDE_MATHS)),  # measured once the solution opens
    "idle.html": ("for nothing", '<p><span class="math" style="display: inline-flex; '
                                 'overflow-x: auto; width: 100px"><mjx-container '
                                 'style="display: block; position: relative"><mjx-math '
                                 'style="display: inline-block; width: 50px">x</mjx-math>'
                                 '<mjx-assistive-mml style="position: absolute; left: 0; '
                                 'width: 300px; clip: rect(1px, 1px, 1px, 1px)">x'
                                 '</mjx-assistive-mml></mjx-container></span></p>'),
    "table.html": ("table", '<table style="width: 60px"><tr><td style="overflow-wrap: '
                            'anywhere">GroupLassoPenalty</td></tr></table>'),
    "elided.html": ("'...'", '<div class="cell_output"><table><tr><th>a</th><th>...</th>'
                             '<th>u</th></tr></table></div>'),
    "cite.html": ("<cite>", "<p>returns <cite>data.info</cite></p>"),
    "api.html": ("API page", "<p>settings such as {\u201cpenalty\u201d: 0.0}</p>"),
    "quotes.html": ("curly", "<p><code>data.info[\u201ctarget_scale\u201d]</code></p>"),
    "role.html": ("MyST roles", "<p>under <code>name</code> ({glue:text}`name`)</p>"),
    "console.html": ("console", "<script>const twice = 1;</script>"
                                "<script>const twice = 2;</script>"),
    "download.html": ("source notebooks", '<a href="_sources/book/x.ipynb">.ipynb</a>'),
    "axe.html": ("axe critical", '<button class="icon"><svg width="9" height="9"></svg>'
                                 '</button>'),  # a button without a name
    "alt.html": ("alt text", f'<img src="{SMALL_IMAGE}" alt="../_images/2891258205da815c'
                             'b6cdced68d36166705f0fd19.png">'),
    "cut.html": ("end in '...'", '<table><tr><th>claim</th></tr><tr><td>hard sharing is '
                                 'lower than STL at ...</td></tr></table>'),
    "tall.html": ("squeezed", '<table><tr><td style="width: 1px">' + "word " * 40
                             + '</td><td style="min-width: 300px">formula</td></tr></table>'),
    "contents.html": ("stay open", '<button class="secondary-toggle" onclick="document.'
                                   'querySelector(\'dialog\').showModal()">Contents</button>'
                                   '<dialog id="pst-secondary-sidebar-modal"><a href="#end">'
                                   'End</a></dialog><p id="end">end</p>'),
}
PAGE = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>self-test'
        '</title></head><body><main>{body}</main></body></html>')
BROKEN = {"nav.html": ("navigation", "<p>no sidebar at all</p>"), **BROKEN}


def self_test() -> None:
    """Each check must fail on the page built to break it, at both widths, and only there."""
    with tempfile.TemporaryDirectory() as folder:
        for name, (_, body) in BROKEN.items():
            Path(folder, name).write_text(PAGE.format(body=body), encoding="utf-8")
        found = check_site(Path(folder), pages=list(BROKEN))  # nav.html: the first page
        expected = 0
        for name, (check, _) in BROKEN.items():
            hits = [p for p in found if name in p or (name == "nav.html" and "navigation" in p)]
            # a phone may scroll a code block, the desktop may not; only a phone shows the
            # page's contents as a dialog
            widths = [w for w in WIDTHS if (check != "code blocks" or w >= 1280)
                      and (check != "stay open" or w < PHONE)]
            assert len(hits) == len(widths) and all(check in p for p in hits), (name, found)
            expected += len(widths)
        assert len(found) == expected, found
    print(f"browser test self-test: each of the {len(BROKEN)} checks fails on the page made to "
          "break it (at both widths; the long code line at 1280 px only, the page's contents "
          f"that stay open at {WIDTHS[0]} px only)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    html = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    problems = check_site(html, shots=ROOT / "_build" / "browser")
    for problem in problems:
        print(problem)
    print(axe_summary())
    if problems:
        sys.exit(f"browser test: {len(problems)} problems")
    print(f"browser test: every page at {' and '.join(map(str, WIDTHS))} px, every solution "
          "open: maths rendered and never clipped, no sideways scrolling, figures captioned "
          "and readable, tables with whole words, code as code, a quiet console, navigation "
          "opens; screenshots in _build/browser/")
