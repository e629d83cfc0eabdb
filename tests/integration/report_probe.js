// Injected into a copy of the Snakemake report: acts as a user would (menu clicks, opening each
// result), then writes what it saw as JSON into a pre element with id seq2chrom-probe.
(async function () {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const clickText = (text) => {
    const link = [...document.querySelectorAll("#app a")].find(
      (a) => a.textContent.trim() === text
    );
    if (link) link.click();
    return Boolean(link);
  };
  const out = { categories: {}, results: {} };
  try {
    await sleep(200);
    out.menu = document.querySelector("#app").innerText;
    // the Summary on the landing page: its numbers link to their items (seq2chrom report-summary)
    const summaryLinks = [...document.querySelectorAll('#app a[href^="javascript:app.showResultInfo"]')];
    out.summary_links = summaryLinks.map((a) => a.getAttribute("href"));
    const heading = document.querySelector("#app .prose h1");
    out.first_heading = heading ? [heading.textContent, heading.getBoundingClientRect().top] : null;
    if (summaryLinks.length) {
      summaryLinks[0].click();
      await sleep(200);
      out.summary_click = document.querySelector("#app").innerText.slice(0, 2000);
    }
    for (const [category, subcategories] of Object.entries(categories)) {
      app.setView({ navbarMode: "menu" });
      await sleep(100);
      const entry = { clicked: clickText(category), subcategories: {} };
      await sleep(100);
      entry.text = document.querySelector("#app").innerText;
      for (const subcategory of Object.keys(subcategories)) {
        const clicked = clickText(subcategory);
        await sleep(100);
        entry.subcategories[subcategory] = {
          clicked: clicked,
          text: document.querySelector("#app").innerText,
        };
        app.showCategory(category);
        await sleep(100);
      }
      out.categories[category] = entry;
    }
    for (const [path, result] of Object.entries(results)) {
      const mime = result.mime_type;
      const seen = { name: result.name, mime: mime, caption: result.caption,
                     uri: result.data_uri.slice(0, 40), labels: result.labels };
      const content = mime.startsWith("image/") ? "img" : mime === "text/html" ? "html" : null;
      if (content) {
        app.showResultInfo(path);
        await sleep(100);
        seen.info = document.querySelector("#app").innerText.slice(0, 3000);
        // what the result's eye button does
        app.setView({ content: content, contentPath: result.data_uri, resultPath: path });
        await sleep(300);
        const shown = [...document.querySelectorAll("#app " + (content === "img" ? "img" : "iframe"))]
          .find((node) => node.getAttribute("src") === result.data_uri);
        seen.shown = Boolean(shown);
        if (shown && content === "img") {
          for (let i = 0; i < 50 && !shown.complete; i++) await sleep(100);
          seen.width = shown.naturalWidth;
          seen.height = shown.naturalHeight;
        }
      }
      out.results[path] = seen;
    }
  } catch (error) {
    out.error = String(error && error.stack ? error.stack : error);
  }
  const pre = document.createElement("pre");
  pre.id = "seq2chrom-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
