/** The list of saved voices: use, play the prompt, rename, delete, export (voice-store.ts keeps them). */
import { download } from './download.ts';
import { deleteVoice, listVoices, renameVoice, type SavedVoice } from './voice-store.ts';

/** What the list needs from the page. */
export interface VoiceListHooks {
  /** The user picked this voice for speaking. */
  readonly onUse: (saved: SavedVoice) => void;
}

function button(text: string, label: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = text;
  element.setAttribute('aria-label', label);
  element.addEventListener('click', onClick);
  return element;
}

function fileName(name: string): string {
  return `${name.replace(/[^\p{L}\p{N}_-]+/gu, '_') || 'voice'}.cosyvoice-voice`;
}

/** Renders the saved voices into `list` (a `<ul>`); call again after any change. */
export async function renderVoiceList(list: HTMLUListElement, hooks: VoiceListHooks): Promise<void> {
  const voices = await listVoices();
  const rerender = (): void => {
    void renderVoiceList(list, hooks);
  };
  list.replaceChildren(
    ...voices.map((saved) => {
      const item = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'voice-name';
      name.textContent = saved.name;
      item.append(
        name,
        button('Use', `Use voice ${saved.name}`, () => {
          hooks.onUse(saved);
        }),
      );
      const promptWav = saved.prompt;
      if (promptWav !== undefined) {
        item.append(
          button('Play prompt', `Play the prompt of ${saved.name}`, () => {
            const url = URL.createObjectURL(promptWav);
            const audio = new Audio(url);
            audio.onended = () => {
              URL.revokeObjectURL(url);
            };
            void audio.play();
          }),
        );
      }
      item.append(
        button('Rename', `Rename voice ${saved.name}`, () => {
          const next = prompt('New name', saved.name)?.trim();
          if (next !== undefined && next !== '') void renameVoice(saved.id, next).then(rerender);
        }),
        button('Export', `Export voice ${saved.name} as a file`, () => {
          download(new Blob([saved.voice]), fileName(saved.name));
        }),
        button('Delete', `Delete voice ${saved.name}`, () => {
          if (confirm(`Delete the voice “${saved.name}”?`)) void deleteVoice(saved.id).then(rerender);
        }),
      );
      return item;
    }),
  );
  if (voices.length === 0) {
    const empty = document.createElement('li');
    empty.textContent = 'No saved voices yet: clone one and save it.';
    list.append(empty);
  }
}
