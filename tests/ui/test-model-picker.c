/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-model-picker.c: the real picker, listing the models of a real
 * server on 127.0.0.1 through the session's provider. */

#include <adwaita.h>

#include "rill-model-picker.h"
#include "rill-test-server.h"
#include "rill-test-support.h"

typedef struct
{
  RillTestServer  *server;
  GSettings       *settings;
  RillSession     *session;
  GtkWindow       *window;
  RillModelPicker *picker;
  GPtrArray       *chosen;
} Fixture;

static void
chosen_cb (RillModelPicker *picker,
           const char      *model,
           GPtrArray       *chosen)
{
  g_ptr_array_add (chosen, g_strdup (model));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  RillTestScript *models = rill_test_script_new (200, "application/json");
  g_autofree char *url = NULL;

  f->server = rill_test_server_new ();
  rill_test_script_send (models,
                         "{\"object\":\"list\",\"data\":[{\"id\":\"alpha\"},{\"id\":\"beta\"}]}",
                         -1, 0);
  rill_test_server_route (f->server, "/v1/models", models);
  url = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  g_setenv ("OPENAI_BASE_URL", url, TRUE);

  f->settings = g_settings_new ("io.github.rill.Rill");
  f->session = rill_session_new (f->settings, NULL);
  f->chosen = g_ptr_array_new_with_free_func (g_free);
  f->window = GTK_WINDOW (gtk_window_new ());
  f->picker = g_object_new (RILL_TYPE_MODEL_PICKER, "session", f->session, NULL);
  g_signal_connect (f->picker, "model-chosen", G_CALLBACK (chosen_cb), f->chosen);
  gtk_window_set_child (f->window, GTK_WIDGET (f->picker));
  gtk_window_present (f->window);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
  g_clear_object (&f->session);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->chosen, g_ptr_array_unref);
  g_clear_pointer (&f->server, rill_test_server_free);
}

static GtkDropDown *
dropdown (Fixture *f)
{
  return GTK_DROP_DOWN (adw_bin_get_child (ADW_BIN (f->picker)));
}

typedef struct
{
  Fixture *f;
  guint    n;
} Listed;

static gboolean
models_listed (gpointer data)
{
  Listed *listed = data;

  return g_list_model_get_n_items (gtk_drop_down_get_model (dropdown (listed->f))) >= listed->n;
}

static void
wait_for_models (Fixture *f,
                 guint    n)
{
  Listed listed = { f, n };

  test_wait_until (models_listed, &listed, 20000, "the models listed");
}

/* Hidden with nothing listed; the first model once the server answers. */
static void
test_lists_models (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *selected = NULL;

  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->picker)));
  rill_session_reload_provider (f->session);
  wait_for_models (f, 2);
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "alpha");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->picker)));
  g_assert_cmpuint (f->chosen->len, ==, 0);
}

/* A model wanted but not listed is shown anyway; picking one is announced,
 * being told one is not. */
static void
test_wanted_and_chosen (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *selected = NULL;

  rill_model_picker_set_model (f->picker, "gamma:7b");
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "gamma:7b");

  rill_session_reload_provider (f->session);
  wait_for_models (f, 3);
  g_clear_pointer (&selected, g_free);
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "gamma:7b");
  g_assert_cmpuint (f->chosen->len, ==, 0);

  gtk_drop_down_set_selected (dropdown (f), 1);
  g_assert_cmpuint (f->chosen->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->chosen, 0), ==, "beta");
  g_clear_pointer (&selected, g_free);
  g_object_get (f->picker, "model", &selected, NULL);
  g_assert_cmpstr (selected, ==, "beta");
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/model-picker/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("lists-models", test_lists_models);
  ADD ("wanted-and-chosen", test_wanted_and_chosen);
#undef ADD

  return g_test_run ();
}
