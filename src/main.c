/* SPDX-License-Identifier: GPL-3.0-or-later */
/* main.c: i18n, a readable error when the settings schema is missing, run.
 *
 * Built twice. `rill` is installed and knows only the installed paths
 * (config.h). `rill-uninstalled` is the same file built with the paths where
 * this build tree compiles the schema and the catalogues, so it runs from
 * the build tree with both (build-aux/rill-dev run); it is never installed,
 * so no build path reaches the installed program. GLib and gettext read no
 * environment variable for the catalogue directory, which is why this is a
 * second program rather than a variable the installed one would honour. */

#include <glib/gi18n.h>
#include <locale.h>

#include "rill-application.h"

#ifdef RILL_UNINSTALLED_LOCALEDIR
# define RILL_LOCALEDIR RILL_UNINSTALLED_LOCALEDIR
#else
# define RILL_LOCALEDIR LOCALEDIR
#endif

/* GSettings aborts with a terse message when the schema is missing, which is
 * what a person sees running the binary from the build tree: say plainly
 * what to do instead. */
static gboolean
ensure_schema (void)
{
  GSettingsSchemaSource *source;
  g_autoptr(GSettingsSchema) schema = NULL;

#ifdef RILL_UNINSTALLED_SCHEMADIR
  /* The schema this build compiled, unless the caller chose a directory.
   * Must be set before the default schema source is first read, which is
   * why this runs before the application (or any thread) exists. */
  g_setenv ("GSETTINGS_SCHEMA_DIR", RILL_UNINSTALLED_SCHEMADIR, FALSE);
#endif

  source = g_settings_schema_source_get_default ();
  if (source != NULL &&
      (schema = g_settings_schema_source_lookup (source, "io.github.rill.Rill", TRUE)) != NULL)
    return TRUE;

  g_printerr (_("Rill cannot start: the settings schema “%s” is not installed.\n"
                "Install Rill (meson install), or run it from the build tree with\n"
                "  GSETTINGS_SCHEMA_DIR=_build/data _build/src/rill\n"),
              "io.github.rill.Rill");
  return FALSE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RillApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, RILL_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!ensure_schema ())
    return 1;

  app = rill_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
