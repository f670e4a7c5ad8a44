/** Offers bytes to the user as a file download. */
export function download(data: Blob, fileName: string): void {
  const url = URL.createObjectURL(data);
  Object.assign(document.createElement('a'), { href: url, download: fileName }).click();
  // the click has started the download; the URL is not needed after this task
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 0);
}
