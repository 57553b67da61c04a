// Marks each table frame whose box scrolls further to the right, for house.css's edge shadow (the phone's cue
// that a table continues); updated as the reader scrolls or the window changes size.
(() => {
  const mark = (box) => {
    const more = box.scrollWidth - box.clientWidth - box.scrollLeft > 1;
    box.parentElement.toggleAttribute("data-more", more);
  };
  const boxes = () => document.querySelectorAll(".house-table-scroll");
  const start = () => {
    boxes().forEach((box) => {
      mark(box);
      box.addEventListener("scroll", () => mark(box), { passive: true });
    });
    window.addEventListener("resize", () => boxes().forEach(mark));
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
