/**
 * The index page's "Try it" forms, run in the browser: send the request a form describes and
 * show the status, the time it took, the response headers and the body, each kind of body
 * the safe way: images as images, HTML in a sandboxed frame that may run no script, JSON
 * pretty-printed, anything else as text (never as markup).
 *
 * Served as the text of `indexClient` (see `assets.ts`), so it must use nothing but browser
 * globals: no imports at run time.
 */

/** Wires every `form.try-it` on the page. */
export function indexClient(): void {
  /** Bodies longer than this are cut when shown as text, so a huge answer cannot stall the page. */
  const MAX_TEXT_CHARS = 200_000;
  /** The object URL of the image each form shows, released when the form sends again. */
  const imageUrls = new Map<HTMLFormElement, string>();

  const field = <T extends Element>(form: HTMLFormElement, name: string): T => form.elements.namedItem(name) as unknown as T;

  function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className !== undefined) node.className = className;
    return node;
  }

  function formatBytes(bytes: number): string {
    return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }

  /** Text as pretty JSON when it is JSON (by type, or an object or array by look), else undefined. */
  function prettyJson(text: string, contentType: string): string | undefined {
    const declared = /[/+]json\b/i.test(contentType);
    if (!declared && !/^\s*[[{]/.test(text)) return undefined;
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return undefined;
    }
  }

  function headerTable(headers: Headers): HTMLDetailsElement {
    const details = element('details', undefined, 'headers');
    details.append(element('summary', 'Response headers'));
    const table = element('table');
    const body = element('tbody');
    headers.forEach((value, name) => {
      const row = element('tr');
      const key = element('th', name);
      key.setAttribute('scope', 'row');
      row.append(key, element('td', value));
      body.append(row);
    });
    table.append(body);
    details.append(table);
    return details;
  }

  async function bodyView(response: Response, url: string): Promise<{ view: HTMLElement; bytes: number; imageUrl?: string }> {
    const contentType = response.headers.get('content-type') ?? '';
    const blob = await response.blob();
    if (blob.size === 0) return { view: element('p', '(empty body)', 'muted'), bytes: 0 };
    if (/^image\//i.test(contentType)) {
      const image = element('img');
      image.src = URL.createObjectURL(blob);
      image.alt = `Image answered by ${url}`;
      return { view: image, bytes: blob.size, imageUrl: image.src };
    }
    const text = await blob.text();
    if (/^text\/html/i.test(contentType)) {
      const frame = element('iframe');
      // An empty sandbox: no scripts, no forms, no popups, and an origin of its own.
      frame.setAttribute('sandbox', '');
      frame.title = `HTML answered by ${url}`;
      frame.srcdoc = text;
      return { view: frame, bytes: blob.size };
    }
    const json = prettyJson(text, contentType);
    const shown = json ?? text;
    return { view: element('pre', shown.length > MAX_TEXT_CHARS ? `${shown.slice(0, MAX_TEXT_CHARS)}\n…` : shown), bytes: blob.size };
  }

  async function send(form: HTMLFormElement): Promise<void> {
    const result = form.nextElementSibling as HTMLElement;
    const method = field<HTMLSelectElement>(form, 'method').value;
    const path = field<HTMLInputElement>(form, 'path').value.trim() || '/';
    const query = field<HTMLInputElement>(form, 'query').value.trim().replace(/^\?/, '');
    const url = query === '' ? path : `${path}?${query}`;
    const init: RequestInit = { method, cache: 'no-store' };
    if (method !== 'GET' && method !== 'HEAD') {
      init.body = field<HTMLTextAreaElement>(form, 'body').value;
      init.headers = { 'content-type': field<HTMLInputElement>(form, 'content-type').value };
    }
    const previousImage = imageUrls.get(form);
    if (previousImage !== undefined) URL.revokeObjectURL(previousImage);
    imageUrls.delete(form);
    result.replaceChildren(element('p', `Sending ${method} ${url} …`, 'muted'));
    const started = performance.now();
    try {
      const response = await fetch(url, init);
      const { view, bytes, imageUrl } = await bodyView(response, url);
      if (imageUrl !== undefined) imageUrls.set(form, imageUrl);
      const elapsed = performance.now() - started;
      const status = element('p', `${response.status} ${response.statusText} · ${elapsed.toFixed(1)} ms · ${formatBytes(bytes)}`,
        response.ok ? 'status ok' : 'status failed');
      result.replaceChildren(status, headerTable(response.headers), view);
    } catch (error) {
      result.replaceChildren(element('p', `Request failed: ${String(error)}`, 'status failed'));
    }
  }

  document.querySelectorAll<HTMLFormElement>('form.try-it').forEach((form) => {
    const method = field<HTMLSelectElement>(form, 'method');
    const bodyFields = form.querySelector('.body-fields') as HTMLElement;
    const showBody = (): void => {
      bodyFields.hidden = method.value === 'GET' || method.value === 'HEAD';
    };
    method.addEventListener('change', showBody);
    showBody();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void send(form);
    });
  });
}
