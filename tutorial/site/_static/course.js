/* Wide display equations fit their column: once MathJax has typeset the page (and again when the
   window is resized), an equation wider than its box is drawn smaller, down to MIN_SCALE of its size;
   one still wider scrolls inside its box (course.css shows the scroll bar), never past the column. */
(function () {
  "use strict";
  const MIN_SCALE = 0.6;

  function neededWidth(container, box) {
    // from the box's left edge to the right edge of the furthest glyph (some overhang their boxes)
    const left = box.getBoundingClientRect().left;
    const drawn = [...container.querySelectorAll("*")].filter(e => !e.closest("mjx-assistive-mml"));
    const rights = drawn.map(e => e.getBoundingClientRect()).filter(r => r.width > 0).map(r => r.right - left);
    const minWidth = parseFloat(container.style.minWidth);  // MathJax's width of a tagged equation
    return Math.max(container.scrollWidth, minWidth || 0, ...rights);
  }

  function fit(container) {
    const box = container.closest("div.math") || container.parentElement;
    if (container.dataset.fontSize === undefined) {  // MathJax's own size, kept to start from on resize
      container.dataset.fontSize = container.style.fontSize || "100%";
      container.dataset.minWidth = container.style.minWidth || "";
    }
    container.style.fontSize = container.dataset.fontSize;
    container.style.minWidth = container.dataset.minWidth;
    const room = box.clientWidth - 2;
    let scale = 1;
    for (let step = 0; step < 4; step++) {  // shrink, measure again (widths are not all in em)
      const needed = neededWidth(container, box);
      if (!(needed > room) || scale <= MIN_SCALE) break;
      scale = Math.max(MIN_SCALE, scale * room / needed * 0.995);
      container.style.fontSize = `calc(${container.dataset.fontSize} * ${scale.toFixed(4)})`;
      if (container.dataset.minWidth) {
        container.style.minWidth = `${(parseFloat(container.dataset.minWidth) * scale).toFixed(2)}px`;
      }
    }
  }

  function fitAll() {
    document.querySelectorAll('mjx-container[jax="CHTML"][display="true"]').forEach(fit);
  }

  function start() {
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return;
    MathJax.startup.promise.then(() => {
      fitAll();
      document.documentElement.dataset.equationsFitted = "true";
      let pending = null;
      window.addEventListener("resize", () => {
        cancelAnimationFrame(pending);
        pending = requestAnimationFrame(fitAll);
      });
    });
  }

  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();
