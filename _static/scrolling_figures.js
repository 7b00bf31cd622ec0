// A notebook's figure wider than its column (a phone: _ext/figure_scale.py, custom.css)
// scrolls sideways in its box; a keyboard must reach the box to scroll it, so a figure that
// scrolls takes focus (named by its caption), as the theme does for code blocks. One that
// fits is no extra tab stop.
function focusScrollingFigures() {
  for (const figure of document.querySelectorAll(".cell_output figure")) {
    if (figure.scrollWidth > figure.clientWidth + 1) {
      figure.setAttribute("tabindex", "0");
    } else {
      figure.removeAttribute("tabindex");
    }
  }
}
window.addEventListener("load", focusScrollingFigures);
window.addEventListener("resize", focusScrollingFigures);
