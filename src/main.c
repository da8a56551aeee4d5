/* main.c: i18n, a readable error when the settings schema is missing, run. */

#include <glib/gi18n.h>
#include <locale.h>

#include "rill-application.h"

/* GSettings aborts with a terse message when the schema is missing, which is
 * what a person sees running the binary from the build tree. Use the schema
 * compiled in the build tree when that is where we run from, and otherwise
 * say plainly what to do. */
static gboolean
ensure_schema (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *compiled = NULL;

  if (source != NULL &&
      (schema = g_settings_schema_source_lookup (source, "io.github.rill.Rill", TRUE)) != NULL)
    return TRUE;

#ifdef BUILD_DATADIR
  compiled = g_build_filename (BUILD_DATADIR, "gschemas.compiled", NULL);
  if (g_getenv ("GSETTINGS_SCHEMA_DIR") == NULL &&
      g_file_test (compiled, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GSettingsSchemaSource) local = NULL;

      local = g_settings_schema_source_new_from_directory (BUILD_DATADIR, source, FALSE, NULL);
      if (local != NULL &&
          (schema = g_settings_schema_source_lookup (local, "io.github.rill.Rill", FALSE)) != NULL)
        {
          /* Must be set before the first GSettings is made, which is why
           * this runs before the application exists. */
          g_setenv ("GSETTINGS_SCHEMA_DIR", BUILD_DATADIR, TRUE);
          return TRUE;
        }
    }
#endif

  g_printerr (_("Rill cannot start: the settings schema “%s” is not installed.\n"
                "Install Rill (meson install), or run it from the build tree with\n"
                "  GSETTINGS_SCHEMA_DIR=_build/data _build/src/rill\n"),
              "io.github.rill.Rill");
  return FALSE;
}

/* The catalogues the build tree compiled, when this is the build tree's
 * binary: run uninstalled, Rill speaks the translations it was built with. */
static const char *
locale_dir (void)
{
#if defined(BUILD_BINDIR) && defined(BUILD_LOCALEDIR)
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = exe ? g_path_get_dirname (exe) : NULL;

  if (dir != NULL && g_str_equal (dir, BUILD_BINDIR) &&
      g_file_test (BUILD_LOCALEDIR, G_FILE_TEST_IS_DIR))
    return BUILD_LOCALEDIR;
#endif
  return LOCALEDIR;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RillApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!ensure_schema ())
    return 1;

  app = rill_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
