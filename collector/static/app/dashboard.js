// The dashboard's two small comforts; without JavaScript the page works the same, filters folded.
// On a wide screen the filters are open; on a phone they stay folded above the key figures.
// Charts wider than a phone's screen open at their right end: the latest days.
(function () {
  "use strict";
  if (window.matchMedia("(min-width: 700px)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (box) { box.open = true; });
  }
  document.querySelectorAll(".chart").forEach(function (chart) {
    chart.scrollLeft = chart.scrollWidth;
  });
})();
