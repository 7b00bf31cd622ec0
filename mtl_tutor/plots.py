"""Plots the book uses again and again: learning curves and comparisons with error bars."""
import matplotlib as mpl
import matplotlib.pyplot as plt

from .stats import summarize

# Okabe and Ito's palette, told apart with every common colour-vision deficiency
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000"]


def use_book_style() -> None:
    """The book's figure style: the colour-blind safe `PALETTE` for lines and markers."""
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=PALETTE)


def plot_history(history, ax=None, title=None):
    """Training and validation loss per epoch (log scale), with the best epoch marked."""
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    ax.plot(history["epoch"], history["train_loss"], label="train")
    ax.plot(history["epoch"], history["val_loss"], label="validation")
    best = history.attrs.get("best_epoch")
    if best:
        ax.axvline(best, color="grey", ls=":", lw=1, label=f"best epoch ({best})")
    ax.set(xlabel="epoch", ylabel="loss (summed over tasks)", yscale="log", title=title)
    ax.legend(frameon=False)
    return ax


def plot_comparison(table, x: str, y: str, hue: str = "method", ax=None, logx=False,
                    title=None, ylabel=None):
    """Mean of `y` against `x`, one line per value of `hue`, error bars of one standard
    error over the rows (seeds) of each point."""
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    for name, group in table.groupby(hue, sort=False):
        s = summarize(group, x, y)
        ax.errorbar(s[x], s["mean"], yerr=s["sem"], marker="o", ms=4, capsize=3, label=name)
    if logx:
        ax.set_xscale("log")
        ticks = sorted(table[x].unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
    ax.set(xlabel=x, ylabel=ylabel or y, title=title)
    ax.legend(frameon=False, title=hue)
    return ax


def draw_sharing_diagram(ax=None):
    """The picture of multi-task learning used in the first chapter: inputs x feed a shared
    representation h(shared); task-specific layers h(1), h(2) give the tasks' outputs
    y(1), y(2); h(3) are factors that explain the input but serve no task (unsupervised)."""
    ax = ax or plt.subplots(figsize=(6.4, 3.6))[1]
    boxes = {  # name: (x, y, colour)
        "x": (0.5, 0.08, "#dddddd"),
        "h(shared)": (0.5, 0.4, "#9ecae1"),
        "h(1)": (0.18, 0.68, "#fdae6b"),
        "h(2)": (0.5, 0.68, "#a1d99b"),
        "h(3)": (0.82, 0.68, "#eeeeee"),
        "y(1)": (0.18, 0.93, "#fdae6b"),
        "y(2)": (0.5, 0.93, "#a1d99b"),
    }
    arrows = [("x", "h(shared)"), ("h(shared)", "h(1)"), ("h(shared)", "h(2)"),
              ("h(shared)", "h(3)"), ("h(1)", "y(1)"), ("h(2)", "y(2)")]
    for a, b in arrows:
        (xa, ya, _), (xb, yb, _) = boxes[a], boxes[b]
        ax.annotate("", xy=(xb, yb - 0.06), xytext=(xa, ya + 0.06),
                    arrowprops=dict(arrowstyle="->", color="#444444", lw=1.2))
    for name, (x, y, colour) in boxes.items():
        ax.text(x, y, name, ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.4", fc=colour, ec="#444444"))
    notes = [(0.98, 0.4, "shared parameters:\nlearned from every task", "right"),
             (0.02, 0.5, "task-specific\nparameters:\none set per task", "left"),
             (0.98, 0.86, "unsupervised factors:\nno task uses them", "right")]
    for x, y, text, align in notes:
        ax.text(x, y, text, ha=align, va="center", fontsize=8.5, color="#555555")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.axis("off")
    return ax


def _short(value: float) -> str:
    """A tick label: 1e-4 rather than 0.0001, so that neighbouring labels do not touch."""
    return f"{value:.0e}".replace("e-0", "e-") if 0 < abs(value) < 1e-3 else f"{value:g}"


def plot_heatmap(table, x: str, y: str, value: str, ax=None, title=None, fmt="{:.2f}",
                 cmap="viridis_r"):
    """The mean of `value` for each (x, y) pair as an annotated grid of coloured cells."""
    grid = table.groupby([y, x])[value].mean().unstack(x)
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    image = ax.imshow(grid.values, cmap=cmap, aspect="auto", origin="lower")
    ax.set_xticks(range(grid.shape[1]), [_short(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, fmt.format(grid.values[i, j]), ha="center", va="center",
                    fontsize=8, color="white" if image.norm(grid.values[i, j]) > 0.5 else "black")
    ax.set(xlabel=x, ylabel=y, title=title)
    plt.colorbar(image, ax=ax, label=value)
    return ax
