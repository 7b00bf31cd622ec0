"""Plots the book uses again and again: learning curves and comparisons with error bars."""
import matplotlib.pyplot as plt

from .experiments import summarize


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
    ax.set(xlabel=x, ylabel=ylabel or y, title=title)
    ax.legend(frameon=False, title=hue)
    return ax
