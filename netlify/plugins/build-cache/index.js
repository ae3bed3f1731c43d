// Keeps comptoir's build cache (.cache/: parsed products, page keys, the file list) and the
// last output/ between Netlify builds. comptoir renders again only the pages whose inputs
// changed, and only if the page it wrote last time is still there, unchanged (size, mtime):
// so both folders are kept. Without them a build is a cold build (docs/deploy.md).
const FOLDERS = [".cache", "output"];

module.exports = {
  async onPreBuild({ utils }) {
    const restored = await utils.cache.restore(FOLDERS);
    console.log(restored ? "comptoir: build cache restored" : "comptoir: no build cache yet");
  },
  async onPostBuild({ utils }) {
    await utils.cache.save(FOLDERS);
  },
};
