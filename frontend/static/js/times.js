// Shows each <time data-ms="..."> in the reader's time zone; the page's text is UTC without it.

const lang = document.documentElement.lang || undefined;
for (const time of document.querySelectorAll("time[data-ms]")) {
  const moment = new Date(Number(time.dataset.ms));
  if (Number.isNaN(moment.getTime())) continue;
  time.dateTime = moment.toISOString();
  time.textContent = moment.toLocaleString(lang, {
    day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}
