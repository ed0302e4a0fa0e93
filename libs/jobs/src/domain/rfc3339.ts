const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

let cachedSecond = NaN;
let cachedText = '';

/** rfc3339Local of the current second, formatted once per second (every scheduled job carries one). */
export function rfc3339LocalNow(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedText = rfc3339Local(new Date(second * 1000));
  }
  return cachedText;
}

/** Go's time.RFC3339 in local time, as dispenserd prints it: 2017-03-14T15:42:51-06:00. */
export function rfc3339Local(date: Date = new Date()): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const zone = offset === 0 ? 'Z' : `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`
  );
}
