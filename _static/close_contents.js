// On a phone the page's contents ("On this page") open as a dialog over the page
// (pydata-sphinx-theme's #pst-secondary-sidebar-modal), which stayed open after a reader
// tapped an entry, hiding the section they had asked for. A tap on a link in it closes the
// dialog; the browser then scrolls to the section as the link says.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  const dialog = link && link.closest("dialog#pst-secondary-sidebar-modal");
  if (dialog && dialog.open) dialog.close();
});
