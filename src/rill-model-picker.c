/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-model-picker.c
 *
 * The models of every server switched on, in the session's order of
 * servers, grouped under a header row a server (GTK 4.8 lists have no
 * sections: a header is a row that cannot be chosen). The drop-down's own
 * search filters on each row's "search-key": "model — server" for a model,
 * so either part finds it, and for a header its own name and all its
 * models', so it stays above whatever of its models is left.
 * Each server is asked on its own, and its rows appear when it answers: a
 * server that is slow or down never holds up another. One that cannot list
 * its models is a row of its own saying why; choosing that row asks it
 * again.
 *
 * A model wanted but not listed (yet, or offline) is still shown, so a
 * conversation never appears to have lost its model. Selecting from code
 * and the person picking both change the drop-down's "selected"; only the
 * second is announced as "model-chosen". */

#include <glib/gi18n.h>

#include "rill-model-picker.h"

/* Choices */

struct _RillModelChoice
{
  GObject  parent_instance;

  char    *model;
  char    *server_id;
  char    *server_label;
  char    *error;
  char    *label;
  char    *search_key;  /* NULL: the label */
  gboolean header;
  gboolean grouped;     /* under its server's header, which names the server */
};

G_DEFINE_FINAL_TYPE (RillModelChoice, rill_model_choice, G_TYPE_OBJECT)

enum {
  CHOICE_PROP_0,
  CHOICE_PROP_LABEL,
  CHOICE_PROP_SEARCH_KEY,
  CHOICE_N_PROPS
};

static GParamSpec *choice_properties[CHOICE_N_PROPS];

static void
rill_model_choice_finalize (GObject *object)
{
  RillModelChoice *self = RILL_MODEL_CHOICE (object);

  g_free (self->model);
  g_free (self->server_id);
  g_free (self->server_label);
  g_free (self->error);
  g_free (self->label);
  g_free (self->search_key);
  G_OBJECT_CLASS (rill_model_choice_parent_class)->finalize (object);
}

static void
rill_model_choice_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RillModelChoice *self = RILL_MODEL_CHOICE (object);

  switch (prop_id)
    {
    case CHOICE_PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case CHOICE_PROP_SEARCH_KEY:
      g_value_set_string (value, self->search_key ? self->search_key : self->label);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_model_choice_class_init (RillModelChoiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rill_model_choice_finalize;
  object_class->get_property = rill_model_choice_get_property;
  choice_properties[CHOICE_PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  choice_properties[CHOICE_PROP_SEARCH_KEY] =
    g_param_spec_string ("search-key", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, CHOICE_N_PROPS, choice_properties);
}

static void
rill_model_choice_init (RillModelChoice *self)
{
}

static RillModelChoice *
choice_new (const char *model,
            const char *server_id,
            const char *server_label,
            const char *error)
{
  RillModelChoice *self = g_object_new (RILL_TYPE_MODEL_CHOICE, NULL);

  self->model = g_strdup (model ? model : "");
  self->server_id = g_strdup (server_id ? server_id : "");
  self->server_label = g_strdup (server_label ? server_label : "");
  self->error = g_strdup (error);
  if (error != NULL)
    /* translators: %s is a server's name or address */
    self->label = g_strdup_printf (_("%s: unreachable"), self->server_label);
  else if (*self->server_label != '\0')
    /* translators: a model and the server it is on, in the model picker */
    self->label = g_strdup_printf (_("%s — %s"), self->model, self->server_label);
  else
    self->label = g_strdup (self->model);
  return self;
}

/* The header of a server's rows: its name, found by its name and by each of
 * its models' rows (@rows, from @first on). */
static RillModelChoice *
header_new (const char *server_id,
            const char *server_label,
            GPtrArray  *rows,
            guint       first)
{
  RillModelChoice *self = choice_new (NULL, server_id, server_label, NULL);
  GString *key = g_string_new (self->label);

  self->header = TRUE;
  g_free (self->label);
  self->label = g_strdup (self->server_label);
  for (guint i = first; i < rows->len; i++)
    {
      RillModelChoice *row = rows->pdata[i];

      g_string_append_c (key, '\n');
      g_string_append (key, row->label);
    }
  self->search_key = g_string_free (key, FALSE);
  return self;
}

const char *
rill_model_choice_get_model (RillModelChoice *self)
{
  g_return_val_if_fail (RILL_IS_MODEL_CHOICE (self), NULL);
  return self->model;
}

const char *
rill_model_choice_get_server_id (RillModelChoice *self)
{
  g_return_val_if_fail (RILL_IS_MODEL_CHOICE (self), NULL);
  return self->server_id;
}

const char *
rill_model_choice_get_server_label (RillModelChoice *self)
{
  g_return_val_if_fail (RILL_IS_MODEL_CHOICE (self), NULL);
  return self->server_label;
}

const char *
rill_model_choice_get_error (RillModelChoice *self)
{
  g_return_val_if_fail (RILL_IS_MODEL_CHOICE (self), NULL);
  return self->error;
}

gboolean
rill_model_choice_is_header (RillModelChoice *self)
{
  g_return_val_if_fail (RILL_IS_MODEL_CHOICE (self), FALSE);
  return self->header;
}

/* The picker */

/* What one server answered: its models, or why it did not. */
typedef struct
{
  GStrv  models;
  char  *error;
} Answer;

static void
answer_free (Answer *answer)
{
  g_strfreev (answer->models);
  g_free (answer->error);
  g_free (answer);
}

struct _RillModelPicker
{
  AdwBin         parent_instance;

  /* Template widgets */
  GtkDropDown   *dropdown;

  /* Borrowed: the drop-down's own, inside it */
  GtkWidget     *search_entry;
  GtkWidget     *popover;

  /* Owned */
  RillSession   *session;
  GListStore    *choices;      /* RillModelChoice */
  GHashTable    *answers;      /* server id → Answer */
  GCancellable  *cancellable;
  char          *model;
  char          *server;

  guint          known_selected; /* the selection last made or accepted */
  guint          updating : 1;
};

G_DEFINE_FINAL_TYPE (RillModelPicker, rill_model_picker, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_MODEL,
  PROP_SERVER,
  N_PROPS
};

enum {
  MODEL_CHOSEN,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static RillModelChoice *
choice_at (RillModelPicker *self,
           guint            position)
{
  return g_list_model_get_item (G_LIST_MODEL (self->choices), position);
}

static void
select_wanted (RillModelPicker *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->choices));
  guint position = GTK_INVALID_LIST_POSITION;
  gboolean any_server = self->server == NULL || *self->server == '\0';

  self->updating = TRUE;
  if (self->model != NULL && *self->model != '\0')
    {
      for (guint i = 0; i < n && position == GTK_INVALID_LIST_POSITION; i++)
        {
          g_autoptr(RillModelChoice) choice = choice_at (self, i);

          if (choice->error == NULL && !choice->header &&
              g_strcmp0 (choice->model, self->model) == 0 &&
              (any_server || g_strcmp0 (choice->server_id, self->server) == 0))
            position = i;
        }
      if (position == GTK_INVALID_LIST_POSITION)
        {
          /* Remembered but not listed (yet, or offline): still shown, with
           * its server's name when that is still known, first, above the
           * servers' groups it is in none of. */
          RillServerItem *item = any_server ? NULL
                                 : rill_session_find_server (self->session, self->server);
          g_autoptr(RillModelChoice) choice =
            choice_new (self->model, self->server,
                        item ? rill_server_item_get_label (item) : NULL, NULL);

          g_list_store_insert (self->choices, 0, choice);
          position = 0;
        }
    }
  else
    for (guint i = 0; i < n && position == GTK_INVALID_LIST_POSITION; i++)
      {
        g_autoptr(RillModelChoice) choice = choice_at (self, i);

        if (choice->error == NULL && !choice->header)
          position = i;
      }
  gtk_drop_down_set_selected (self->dropdown, position);
  self->known_selected = position;
  gtk_widget_set_visible (GTK_WIDGET (self),
                          g_list_model_get_n_items (G_LIST_MODEL (self->choices)) > 0);
  self->updating = FALSE;
}

/* The rows again from the answers so far, in the order of the servers. */
static void
rebuild (RillModelPicker *self)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *servers = self->session ? rill_session_get_servers (self->session) : NULL;
  guint n = servers ? g_list_model_get_n_items (servers) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (servers, i);
      const char *id = rill_server_item_get_id (item);
      const char *label = rill_server_item_get_label (item);
      Answer *answer = g_hash_table_lookup (self->answers, id);

      guint first;

      if (answer == NULL || rill_server_item_get_provider (item) == NULL)
        continue;
      /* The header goes in front once its rows are known. */
      g_ptr_array_add (rows, NULL);
      first = rows->len;
      if (answer->error != NULL)
        g_ptr_array_add (rows, choice_new (NULL, id, label, answer->error));
      else
        for (guint j = 0; answer->models[j] != NULL; j++)
          {
            RillModelChoice *choice = choice_new (answer->models[j], id, label, NULL);

            choice->grouped = TRUE;
            g_ptr_array_add (rows, choice);
          }
      rows->pdata[first - 1] = header_new (id, label, rows, first);
    }

  self->updating = TRUE;
  g_list_store_splice (self->choices, 0, g_list_model_get_n_items (G_LIST_MODEL (self->choices)),
                       rows->pdata, rows->len);
  self->updating = FALSE;
  select_wanted (self);
}

typedef struct
{
  RillModelPicker *self;
  char            *server_id;
} Asking;

static void
list_models_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Asking *asking = user_data;
  g_autoptr(RillModelPicker) self = asking->self;
  g_autofree char *server_id = asking->server_id;
  g_autoptr(GError) error = NULL;
  Answer *answer = g_new0 (Answer, 1);

  g_free (asking);
  answer->models = rill_provider_list_models_finish (RILL_PROVIDER (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      answer_free (answer);
      return;
    }
  if (error != NULL)
    {
      g_debug ("Could not list the models of %s: %s", server_id, error->message);
      answer->error = g_strdup (error->message);
    }
  g_hash_table_replace (self->answers, g_steal_pointer (&server_id), answer);
  rebuild (self);
}

static void
ask_server (RillModelPicker *self,
            RillServerItem  *item)
{
  RillProvider *provider = rill_server_item_get_provider (item);
  Asking *asking;

  if (provider == NULL)
    return;
  asking = g_new0 (Asking, 1);
  asking->self = g_object_ref (self);
  asking->server_id = g_strdup (rill_server_item_get_id (item));
  rill_provider_list_models_async (provider, self->cancellable, list_models_cb, asking);
}

static void
servers_changed_cb (RillModelPicker *self)
{
  GListModel *servers = rill_session_get_servers (self->session);
  guint n = g_list_model_get_n_items (servers);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_hash_table_remove_all (self->answers);
  rebuild (self);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (servers, i);

      ask_server (self, item);
    }
}

/* Asks one server again, after it was unreachable. */
static void
retry (RillModelPicker *self,
       const char      *server_id)
{
  RillServerItem *item = rill_session_find_server (self->session, server_id);

  if (item == NULL)
    return;
  g_hash_table_remove (self->answers, server_id);
  ask_server (self, item);
  rebuild (self);
}

void
rill_model_picker_set_choice (RillModelPicker *self,
                              const char      *model,
                              const char      *server_id)
{
  g_return_if_fail (RILL_IS_MODEL_PICKER (self));

  if (g_strcmp0 (self->model, model) != 0)
    {
      g_free (self->model);
      self->model = g_strdup (model);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
    }
  if (g_strcmp0 (self->server, server_id) != 0)
    {
      g_free (self->server);
      self->server = g_strdup (server_id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER]);
    }
  select_wanted (self);
}

void
rill_model_picker_set_model (RillModelPicker *self,
                             const char      *model)
{
  g_return_if_fail (RILL_IS_MODEL_PICKER (self));

  rill_model_picker_set_choice (self, model, self->server);
}

char *
rill_model_picker_dup_selected (RillModelPicker *self)
{
  RillModelChoice *choice;

  g_return_val_if_fail (RILL_IS_MODEL_PICKER (self), NULL);

  choice = gtk_drop_down_get_selected_item (self->dropdown);
  return choice && choice->error == NULL && !choice->header ? g_strdup (choice->model) : NULL;
}

char *
rill_model_picker_dup_selected_server (RillModelPicker *self)
{
  RillModelChoice *choice;

  g_return_val_if_fail (RILL_IS_MODEL_PICKER (self), NULL);

  choice = gtk_drop_down_get_selected_item (self->dropdown);
  return choice && choice->error == NULL && !choice->header && *choice->server_id
         ? g_strdup (choice->server_id) : NULL;
}

void
rill_model_picker_popup (RillModelPicker *self)
{
  g_return_if_fail (RILL_IS_MODEL_PICKER (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->dropdown));
  gtk_widget_activate (GTK_WIDGET (self->dropdown));
}

static void
selected_cb (RillModelPicker *self)
{
  RillModelChoice *choice;

  /* GtkDropDown may tell of a selection made from code here after the
   * code is done (a header or a retry going back to what was wanted). */
  if (self->updating || gtk_drop_down_get_selected (self->dropdown) == self->known_selected)
    return;
  choice = gtk_drop_down_get_selected_item (self->dropdown);
  if (choice == NULL)
    return;
  if (choice->header)
    {
      /* Not a choice: back to what was wanted. */
      select_wanted (self);
      return;
    }
  if (choice->error != NULL)
    {
      /* Not a model: the way to ask that server again. The selection goes
       * back to what was wanted. */
      g_autofree char *server_id = g_strdup (choice->server_id);

      retry (self, server_id);
      return;
    }

  /* Going back to what was wanted (after a header) is no choice. */
  if (g_strcmp0 (self->model, choice->model) == 0 &&
      g_strcmp0 (self->server, choice->server_id) == 0)
    return;

  self->known_selected = gtk_drop_down_get_selected (self->dropdown);
  g_free (self->model);
  self->model = g_strdup (choice->model);
  g_free (self->server);
  self->server = g_strdup (choice->server_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER]);
  g_signal_emit (self, signals[MODEL_CHOSEN], 0, self->model);
}

/* The keyboard alone: Ctrl+M, type, Return. GtkDropDown 4.8 opens its
 * list with the focus on the list, where typing goes nowhere, and does
 * nothing on Return in its search field; so what is typed anywhere in the
 * open list goes to the search field, and Return there chooses the first
 * model left. */

static GtkWidget *
find_descendant (GtkWidget *root,
                 GType      type)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = G_TYPE_CHECK_INSTANCE_TYPE (child, type) ? child
                         : find_descendant (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
popover_shown_cb (RillModelPicker *self)
{
  gtk_widget_grab_focus (self->search_entry);
}

static void
search_activate_cb (RillModelPicker *self)
{
  GtkWidget *view = find_descendant (self->popover, GTK_TYPE_LIST_VIEW);
  GListModel *shown = view ? G_LIST_MODEL (gtk_list_view_get_model (GTK_LIST_VIEW (view))) : NULL;
  guint n = shown ? g_list_model_get_n_items (shown) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillModelChoice) choice = g_list_model_get_item (shown, i);
      guint position;

      if (choice->header || choice->error != NULL)
        continue;
      if (g_list_store_find (self->choices, choice, &position))
        gtk_drop_down_set_selected (self->dropdown, position);
      gtk_popover_popdown (GTK_POPOVER (self->popover));
      return;
    }
}

/* GtkDropDown 4.8 matches what is typed against the start of each row's
 * key only ("search-match-mode" came with GTK 4.12), so "OLLAMA" would not
 * find "llama3 — Ollama". Its filter is made once, with the model and the
 * expression, which the picker sets once: it is told to match anywhere. */
static void
match_anywhere (RillModelPicker *self)
{
  GtkWidget *view = find_descendant (self->popover, GTK_TYPE_LIST_VIEW);
  GListModel *model = view ? G_LIST_MODEL (gtk_list_view_get_model (GTK_LIST_VIEW (view))) : NULL;
  GtkFilter *filter;

  if (GTK_IS_SINGLE_SELECTION (model))
    model = gtk_single_selection_get_model (GTK_SINGLE_SELECTION (model));
  else if (GTK_IS_NO_SELECTION (model))
    model = gtk_no_selection_get_model (GTK_NO_SELECTION (model));
  if (!GTK_IS_FILTER_LIST_MODEL (model))
    return;
  filter = gtk_filter_list_model_get_filter (GTK_FILTER_LIST_MODEL (model));
  if (GTK_IS_STRING_FILTER (filter))
    gtk_string_filter_set_match_mode (GTK_STRING_FILTER (filter),
                                      GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
}

static void
setup_keyboard (RillModelPicker *self)
{
  self->search_entry = find_descendant (GTK_WIDGET (self->dropdown), GTK_TYPE_SEARCH_ENTRY);
  self->popover = self->search_entry
                  ? gtk_widget_get_ancestor (self->search_entry, GTK_TYPE_POPOVER) : NULL;
  if (self->popover == NULL)
    return;
  match_anywhere (self);
  gtk_search_entry_set_key_capture_widget (GTK_SEARCH_ENTRY (self->search_entry), self->popover);
  g_signal_connect_object (self->popover, "show", G_CALLBACK (popover_shown_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->search_entry, "activate", G_CALLBACK (search_activate_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
set_session (RillModelPicker *self,
             RillSession     *session)
{
  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (rill_session_get_servers (self->session), self);
  g_clear_object (&self->session);
  if (session == NULL)
    return;
  self->session = g_object_ref (session);
  g_signal_connect_object (rill_session_get_servers (session), "items-changed",
                           G_CALLBACK (servers_changed_cb), self, G_CONNECT_SWAPPED);
  servers_changed_cb (self);
}

static void
setup_item_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  compact)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (compact))
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
      gtk_label_set_width_chars (GTK_LABEL (label), 10);
      gtk_list_item_set_child (item, label);
    }
  else
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
      GtkWidget *server = gtk_label_new (NULL);

      gtk_label_set_xalign (GTK_LABEL (server), 0);
      gtk_widget_add_css_class (server, "dim-label");
      gtk_widget_add_css_class (server, "caption");
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), server);
      gtk_list_item_set_child (item, box);
    }
}

static void
bind_item_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  compact)
{
  RillModelChoice *choice = gtk_list_item_get_item (item);
  GtkWidget *child = gtk_list_item_get_child (item);
  GtkWidget *label, *server;

  if (GPOINTER_TO_INT (compact))
    {
      gtk_label_set_text (GTK_LABEL (child), choice->error ? choice->label : choice->model);
      return;
    }
  label = gtk_widget_get_first_child (child);
  server = gtk_widget_get_next_sibling (label);
  /* A header is read and seen, never chosen; the factory reuses rows. */
  gtk_list_item_set_activatable (item, !choice->header);
  gtk_list_item_set_selectable (item, !choice->header);
  if (choice->header)
    {
      gtk_widget_add_css_class (label, "heading");
      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_set_margin_top (child, 6);
    }
  else
    {
      gtk_widget_remove_css_class (label, "heading");
      gtk_widget_remove_css_class (label, "dim-label");
      gtk_widget_set_margin_top (child, 0);
    }
  if (choice->header)
    {
      gtk_label_set_text (GTK_LABEL (label), choice->label);
      gtk_label_set_text (GTK_LABEL (server), "");
      gtk_widget_set_tooltip_text (child, NULL);
      gtk_widget_remove_css_class (label, "error");
    }
  else if (choice->error != NULL)
    {
      g_autofree char *tip = g_strdup_printf (_("%s Choose to try again."), choice->error);

      gtk_label_set_text (GTK_LABEL (label), choice->label);
      gtk_label_set_text (GTK_LABEL (server), choice->error);
      gtk_label_set_ellipsize (GTK_LABEL (server), PANGO_ELLIPSIZE_END);
      gtk_widget_set_tooltip_text (child, tip);
      gtk_widget_add_css_class (label, "error");
    }
  else
    {
      gtk_label_set_text (GTK_LABEL (label), choice->model);
      /* Under its header, the server is named already. */
      gtk_label_set_text (GTK_LABEL (server), choice->grouped ? "" : choice->server_label);
      gtk_widget_set_tooltip_text (child, NULL);
      gtk_widget_remove_css_class (label, "error");
    }
  gtk_widget_set_visible (server, *gtk_label_get_text (GTK_LABEL (server)) != '\0');
  /* Read as one: "llama3, on Ollama", or why a server is unreachable. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  choice->label, -1);
}

static GtkListItemFactory *
new_factory (gboolean compact)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_item_cb), GINT_TO_POINTER (compact));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_item_cb), GINT_TO_POINTER (compact));
  return factory;
}

static void
rill_model_picker_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_model_picker_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      set_session (self, g_value_get_object (value));
      break;
    case PROP_MODEL:
      rill_model_picker_set_model (self, g_value_get_string (value));
      break;
    case PROP_SERVER:
      rill_model_picker_set_choice (self, self->model, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_model_picker_dispose (GObject *object)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  g_cancellable_cancel (self->cancellable);
  /* No gtk_widget_dispose_template (): AdwBin unparents its child itself,
   * and the template's other widgets are inside it. */

  G_OBJECT_CLASS (rill_model_picker_parent_class)->dispose (object);
}

static void
rill_model_picker_finalize (GObject *object)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_object (&self->choices);
  g_clear_pointer (&self->answers, g_hash_table_unref);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->server, g_free);

  G_OBJECT_CLASS (rill_model_picker_parent_class)->finalize (object);
}

static void
rill_model_picker_class_init (RillModelPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_model_picker_dispose;
  object_class->finalize = rill_model_picker_finalize;
  object_class->get_property = rill_model_picker_get_property;
  object_class->set_property = rill_model_picker_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SERVER] =
    g_param_spec_string ("server", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[MODEL_CHOSEN] = g_signal_new ("model-chosen", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-model-picker.ui");
  gtk_widget_class_bind_template_child (widget_class, RillModelPicker, dropdown);
  gtk_widget_class_bind_template_callback (widget_class, selected_cb);
}

static void
rill_model_picker_init (RillModelPicker *self)
{
  g_autoptr(GtkListItemFactory) compact = new_factory (TRUE);
  g_autoptr(GtkListItemFactory) full = new_factory (FALSE);
  GtkExpression *expression;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->known_selected = GTK_INVALID_LIST_POSITION;
  /* The drop-down's button is what a screen reader lands on; GTK 4.8 gives
   * it the drop-down's name only on newer versions. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_first_child (
                                                    GTK_WIDGET (self->dropdown))),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Choose model"), -1);

  self->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) answer_free);
  self->choices = g_list_store_new (RILL_TYPE_MODEL_CHOICE);
  self->updating = TRUE;
  gtk_drop_down_set_model (self->dropdown, G_LIST_MODEL (self->choices));
  self->updating = FALSE;
  /* The search field matches "model — server": either part finds a row,
   * and a server's header stays while any of its rows does. */
  expression = gtk_property_expression_new (RILL_TYPE_MODEL_CHOICE, NULL, "search-key");
  gtk_drop_down_set_expression (self->dropdown, expression);
  gtk_expression_unref (expression);

  /* Model names run long ("llama3.1:8b-instruct-q4_K_M"): the button shows
   * an ellipsized one so the header bar fits a phone's width, the list the
   * whole name and its server. */
  gtk_drop_down_set_factory (self->dropdown, compact);
  gtk_drop_down_set_list_factory (self->dropdown, full);
  setup_keyboard (self);
}
