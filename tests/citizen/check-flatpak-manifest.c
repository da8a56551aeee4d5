/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What can be checked of the Flatpak manifest without network to build it:
 * it parses, names the app id, the command and the GNOME runtime, builds
 * this tree with meson, and asks for no permission beyond those Rill uses,
 * each with its reason. */

#include <json-glib/json-glib.h>

static const char *manifest_path;

/* Everything Rill needs; anything more must be argued for here first. */
static const char * const allowed_finish_args[] = {
  "--share=network",
  "--share=ipc",
  "--socket=wayland",
  "--socket=fallback-x11",
  "--device=dri",
  "--talk-name=org.freedesktop.secrets",
  NULL
};

static JsonObject *
load_manifest (JsonParser *parser)
{
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_file (parser, manifest_path, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static void
test_identity (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *manifest = load_manifest (parser);
  const char *id;
  const char *app_id;
  const char *runtime_version;

  /* flatpak-builder accepts "id" and the older "app-id". */
  id = json_object_get_string_member_with_default (manifest, "id", NULL);
  app_id = json_object_get_string_member_with_default (manifest, "app-id", id);
  g_assert_cmpstr (app_id, ==, "io.github.rill.Rill");
  g_assert_cmpstr (json_object_get_string_member_with_default (manifest, "command", NULL),
                   ==, "rill");
  g_assert_cmpstr (json_object_get_string_member_with_default (manifest, "runtime", NULL),
                   ==, "org.gnome.Platform");
  g_assert_cmpstr (json_object_get_string_member_with_default (manifest, "sdk", NULL),
                   ==, "org.gnome.Sdk");
  /* GNOME runtimes are numbered by release; 47 and later are supported. */
  runtime_version = json_object_get_string_member_with_default (manifest, "runtime-version", "0");
  g_assert_cmpint (g_ascii_strtoll (runtime_version, NULL, 10), >=, 47);
}

static void
test_builds_tree_with_meson (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *manifest = load_manifest (parser);
  JsonArray *modules;
  gboolean found = FALSE;

  g_assert_true (json_object_has_member (manifest, "modules"));
  modules = json_object_get_array_member (manifest, "modules");
  g_assert_nonnull (modules);

  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *node = json_array_get_element (modules, i);
      JsonObject *module;
      JsonArray *sources;

      /* A module may also be a path to another file. */
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      module = json_node_get_object (node);
      if (g_strcmp0 (json_object_get_string_member_with_default (module, "buildsystem", NULL),
                     "meson") != 0 ||
          !json_object_has_member (module, "sources"))
        continue;

      sources = json_object_get_array_member (module, "sources");
      for (guint j = 0; sources && j < json_array_get_length (sources); j++)
        {
          JsonObject *source = json_array_get_object_element (sources, j);

          /* The manifest sits in flatpak/, so ".." is this tree. */
          if (source != NULL &&
              g_strcmp0 (json_object_get_string_member_with_default (source, "type", NULL),
                         "dir") == 0 &&
              g_strcmp0 (json_object_get_string_member_with_default (source, "path", NULL),
                         "..") == 0)
            found = TRUE;
        }
    }

  g_assert_true (found);
}

static void
test_finish_args (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *manifest = load_manifest (parser);
  JsonArray *finish_args;
  JsonObject *comments;

  g_assert_true (json_object_has_member (manifest, "finish-args"));
  finish_args = json_object_get_array_member (manifest, "finish-args");
  g_assert_true (json_object_has_member (manifest, "x-finish-args-comments"));
  comments = json_object_get_object_member (manifest, "x-finish-args-comments");
  g_assert_nonnull (comments);

  for (guint i = 0; i < json_array_get_length (finish_args); i++)
    {
      const char *arg = json_array_get_string_element (finish_args, i);
      const char *why;

      g_assert_nonnull (arg);
      if (!g_strv_contains (allowed_finish_args, arg))
        g_error ("finish-arg %s is not one Rill needs", arg);
      why = json_object_get_string_member_with_default (comments, arg, "");
      if (why[0] == '\0')
        g_error ("finish-arg %s has no comment in x-finish-args-comments", arg);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  manifest_path = g_getenv ("RILL_FLATPAK_MANIFEST");
  if (manifest_path == NULL)
    g_error ("Set RILL_FLATPAK_MANIFEST to the manifest's path");

  g_test_add_func ("/flatpak/identity", test_identity);
  g_test_add_func ("/flatpak/builds-tree-with-meson", test_builds_tree_with_meson);
  g_test_add_func ("/flatpak/finish-args", test_finish_args);

  return g_test_run ();
}
