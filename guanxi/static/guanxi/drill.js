// Drill-down: a chart whose canvas has data-links goes to links[i] when bar (or point) i is
// clicked. The charts themselves are drawn by unfold's Chart.js set-up on page load.
window.addEventListener("load", () => {
  for (const canvas of document.querySelectorAll("canvas[data-links]")) {
    const chart = window.Chart && window.Chart.getChart(canvas);
    if (!chart) continue;
    const links = JSON.parse(canvas.dataset.links);
    chart.options.onClick = (_event, elements) => {
      if (elements.length && links[elements[0].index]) {
        window.location.href = links[elements[0].index];
      }
    };
    chart.update();
  }
});
