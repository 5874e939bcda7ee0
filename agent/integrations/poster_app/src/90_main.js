/* Inside Poster (its global Poster object present), the app installs itself. */
if (root.Poster && root.document) {
  S.app = S.createApp({
    poster: root.Poster,
    storage: root.localStorage,
    document: root.document,
    timers: {
      setTimeout: root.setTimeout.bind(root),
      clearTimeout: root.clearTimeout.bind(root),
      setInterval: root.setInterval.bind(root),
    },
  });
  S.app.install();
}
