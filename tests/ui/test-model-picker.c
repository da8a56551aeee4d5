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
  RillTestServer  *ollama;
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
  g_unsetenv ("OPENAI_API_KEY");

  /* A second server, grouped after the first: an Ollama one. */
  f->ollama = rill_test_server_new ();
  {
    RillTestScript *tags = rill_test_script_new (200, "application/json");

    rill_test_script_send (tags, "{\"models\":[{\"name\":\"llama3\"},{\"name\":\"qwen2.5\"}]}",
                           -1, 0);
    rill_test_server_route (f->ollama, "/api/tags", tags);
  }
  g_setenv ("OLLAMA_HOST", rill_test_server_get_url (f->ollama), TRUE);

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
  g_clear_pointer (&f->ollama, rill_test_server_free);
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

/* Each row as "model@server", a header as "[server]", an unreachable
 * server as "!server". */
static char *
listed (Fixture *f)
{
  GListModel *choices = gtk_drop_down_get_model (dropdown (f));
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (choices); i++)
    {
      g_autoptr(RillModelChoice) choice = g_list_model_get_item (choices, i);
      const char *server = rill_model_choice_get_server_id (choice);

      if (out->len > 0)
        g_string_append_c (out, ' ');
      if (rill_model_choice_is_header (choice))
        g_string_append_printf (out, "[%s]", server);
      else if (rill_model_choice_get_error (choice) != NULL)
        g_string_append_printf (out, "!%s", server);
      else
        g_string_append_printf (out, "%s@%s", rill_model_choice_get_model (choice), server);
    }
  return g_string_free (out, FALSE);
}

static guint
position_of (Fixture    *f,
             const char *model)
{
  GListModel *choices = gtk_drop_down_get_model (dropdown (f));

  for (guint i = 0; i < g_list_model_get_n_items (choices); i++)
    {
      g_autoptr(RillModelChoice) choice = g_list_model_get_item (choices, i);

      if (!rill_model_choice_is_header (choice) &&
          g_strcmp0 (rill_model_choice_get_model (choice), model) == 0)
        return i;
    }
  g_error ("%s is not listed", model);
}

#define BOTH "[env:OPENAI_BASE_URL] alpha@env:OPENAI_BASE_URL beta@env:OPENAI_BASE_URL " \
  "[env:OLLAMA_HOST] llama3@env:OLLAMA_HOST qwen2.5@env:OLLAMA_HOST"

/* Hidden with nothing listed; once the servers answer, each server's
 * models under its header, in the session's order, and the first model
 * selected, not a header. */
static void
test_lists_models (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *selected = NULL;
  g_autofree char *rows = NULL;

  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->picker)));
  rill_session_reload_provider (f->session);
  wait_for_models (f, 6);
  rows = listed (f);
  g_assert_cmpstr (rows, ==, BOTH);
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "alpha");
  g_clear_pointer (&selected, g_free);
  selected = rill_model_picker_dup_selected_server (f->picker);
  g_assert_cmpstr (selected, ==, "env:OPENAI_BASE_URL");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->picker)));
  g_assert_cmpuint (f->chosen->len, ==, 0);
}

/* A model wanted but not listed is shown anyway, above the groups; picking
 * one is announced, being told one is not. */
static void
test_wanted_and_chosen (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *selected = NULL;
  g_autofree char *rows = NULL;

  rill_model_picker_set_model (f->picker, "gamma:7b");
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "gamma:7b");

  rill_session_reload_provider (f->session);
  wait_for_models (f, 7);
  rows = listed (f);
  g_assert_cmpstr (rows, ==, "gamma:7b@ " BOTH);
  g_clear_pointer (&selected, g_free);
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "gamma:7b");
  g_assert_cmpuint (f->chosen->len, ==, 0);

  gtk_drop_down_set_selected (dropdown (f), position_of (f, "qwen2.5"));
  g_assert_cmpuint (f->chosen->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->chosen, 0), ==, "qwen2.5");
  g_clear_pointer (&selected, g_free);
  g_object_get (f->picker, "model", &selected, NULL);
  g_assert_cmpstr (selected, ==, "qwen2.5");
  g_clear_pointer (&selected, g_free);
  g_object_get (f->picker, "server", &selected, NULL);
  g_assert_cmpstr (selected, ==, "env:OLLAMA_HOST");
}

/* A header is not a choice: selecting it goes back to what was chosen,
 * and nothing is announced. */
static void
test_header_not_chosen (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *selected = NULL;

  rill_session_reload_provider (f->session);
  wait_for_models (f, 6);
  rill_model_picker_set_choice (f->picker, "llama3", "env:OLLAMA_HOST");
  gtk_drop_down_set_selected (dropdown (f), 3);
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "llama3");
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown (f)), ==, position_of (f, "llama3"));
  if (f->chosen->len > 0)
    g_error ("chosen: %s", (char *) f->chosen->pdata[0]);
}

static GtkWidget *
find_type (GtkWidget *root,
           GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_type (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* What the open list shows, as listed () does. */
static char *
shown (GtkWidget *popover)
{
  GtkListView *view = GTK_LIST_VIEW (find_type (popover, GTK_TYPE_LIST_VIEW));
  GListModel *model = G_LIST_MODEL (gtk_list_view_get_model (view));
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(RillModelChoice) choice = g_list_model_get_item (model, i);

      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, rill_model_choice_is_header (choice)
                       ? rill_model_choice_get_server_id (choice)
                       : rill_model_choice_get_model (choice));
    }
  return g_string_free (out, FALSE);
}

typedef struct
{
  GtkWidget  *popover;
  const char *rows;
} Shown;

static gboolean
shows (gpointer data)
{
  Shown *wanted = data;
  g_autofree char *rows = shown (wanted->popover);

  return g_strcmp0 (rows, wanted->rows) == 0;
}

/* The search field filters a moment after typing, as GtkSearchEntry does. */
static void
wait_shown (GtkWidget  *popover,
            const char *rows)
{
  Shown wanted = { popover, rows };

  test_wait_until (shows, &wanted, 20000, rows);
}

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget);
}

/* The keyboard alone: Ctrl+M opens the list with the search field, typing
 * filters, a server's header staying above its rows left, and Return
 * chooses the first model shown. */
static void
test_keyboard (Fixture       *f,
               gconstpointer  data)
{
  GtkWidget *entry, *popover;
  g_autofree char *selected = NULL;

  rill_session_reload_provider (f->session);
  wait_for_models (f, 6);
  rill_model_picker_popup (f->picker);
  entry = find_type (GTK_WIDGET (dropdown (f)), GTK_TYPE_SEARCH_ENTRY);
  g_assert_nonnull (entry);
  popover = gtk_widget_get_ancestor (entry, GTK_TYPE_POPOVER);
  test_wait_until (is_mapped, popover, 20000, "the list open");
  /* What is typed in the open list goes to the search field. */
  g_assert_nonnull (gtk_search_entry_get_key_capture_widget (GTK_SEARCH_ENTRY (entry)));

  gtk_editable_set_text (GTK_EDITABLE (entry), "QWEN");
  wait_shown (popover, "env:OLLAMA_HOST qwen2.5");
  /* By the server's name: its header and all its models. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "OLLAMA_HOST");
  wait_shown (popover, "env:OLLAMA_HOST llama3 qwen2.5");

  gtk_editable_set_text (GTK_EDITABLE (entry), "qwen");
  wait_shown (popover, "env:OLLAMA_HOST qwen2.5");
  g_signal_emit_by_name (entry, "activate");
  selected = rill_model_picker_dup_selected (f->picker);
  g_assert_cmpstr (selected, ==, "qwen2.5");
  g_assert_cmpuint (f->chosen->len, ==, 1);
  g_assert_false (gtk_widget_get_visible (popover));
}

/* A server that refuses: its header, and a row saying why, which asks it
 * again when chosen; the other server's models are there all along. */
static void
test_unreachable (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *rows = NULL;
  RillTestScript *tags = rill_test_script_new (500, "application/json");

  rill_test_script_send (tags, "{\"error\":\"down for now\"}", -1, 0);
  rill_test_server_route (f->ollama, "/api/tags", tags);
  rill_session_reload_provider (f->session);
  wait_for_models (f, 5);
  rows = listed (f);
  g_assert_cmpstr (rows, ==, "[env:OPENAI_BASE_URL] alpha@env:OPENAI_BASE_URL "
                   "beta@env:OPENAI_BASE_URL [env:OLLAMA_HOST] !env:OLLAMA_HOST");

  tags = rill_test_script_new (200, "application/json");
  rill_test_script_send (tags, "{\"models\":[{\"name\":\"llama3\"},{\"name\":\"qwen2.5\"}]}",
                         -1, 0);
  rill_test_server_route (f->ollama, "/api/tags", tags);
  gtk_drop_down_set_selected (dropdown (f), 4);
  g_assert_cmpuint (f->chosen->len, ==, 0);
  wait_for_models (f, 6);
  g_clear_pointer (&rows, g_free);
  rows = listed (f);
  g_assert_cmpstr (rows, ==, BOTH);
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
  ADD ("header-not-chosen", test_header_not_chosen);
  ADD ("keyboard", test_keyboard);
  ADD ("unreachable", test_unreachable);
#undef ADD

  return g_test_run ();
}
