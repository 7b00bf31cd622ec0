"""The site's markup fixes (_ext/): what each changes in a page's HTML, without a build."""
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from accessible_markup import accessible  # noqa: E402
from figure_scale import min_width_px, with_min_widths  # noqa: E402
from table_text import mark_prose_cells  # noqa: E402


def test_bibliography_entries_are_list_items():
    page = '<div role="list"><div class="citation" role="doc-biblioentry">A</div></div>'
    assert accessible(page) == ('<div role="list"><div class="citation" role="listitem">A'
                                '</div></div>')


def test_empty_header_cells_become_data_cells_and_others_stay():
    page = ('<tr><th></th><th class="blank">&nbsp;</th><th class="head"><p></p></th>'
            '<th>task</th></tr>')
    assert accessible(page) == ('<tr><td></td><td class="blank"></td><td class="head"></td>'
                                '<th>task</th></tr>')


def test_code_toggle_is_named_by_its_visible_text():
    page = '<summary aria-label="Toggle hidden content">\n<p>Show code cell source</p>'
    assert accessible(page) == "<summary>\n<p>Show code cell source</p>"


def test_only_cells_of_phrases_are_marked():
    page = ('<tr><td><p>each task picks its own few features</p></td><td>L1</td>'
            '<td class="x">\\(\\lambda \\sum_{j,t} \\lvert a_{jt} \\rvert\\)</td></tr>')
    marked = mark_prose_cells(page)
    assert marked.count("prose-cell") == 1
    assert '<td class="prose-cell"><p>each task' in marked


def png(path: Path, width: int, height: int) -> Path:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk
                     + struct.pack(">I", zlib.crc32(chunk)))
    return path


def test_an_output_figure_keeps_a_width_where_its_8_pt_text_is_7_px(tmp_path):
    digest = "ab" * 32
    image = png(tmp_path / f"{digest}.png", 800, 300)
    body = f'<img alt="a plot" src="../_images/{digest}.png" />'
    shown = with_min_widths(body, {f"{digest}.png": image}.__getitem__)
    assert shown == (f'<img alt="a plot" style="min-width: {min_width_px(800)}px" '
                     f'src="../_images/{digest}.png" />')
    assert min_width_px(800) * (8 / 72 * 100) / 800 >= 7  # 8 pt at 100 dpi, in CSS px
    logo = '<img alt="Colab logo" src="../_static/images/logo_colab.png">'
    assert with_min_widths(logo, {}.__getitem__) == logo  # not a notebook's output
