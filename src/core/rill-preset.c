/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-preset.c
 *
 * Presets live in GSettings ("presets", aa{sv}) rather than the database:
 * they are preferences, edited in the Preferences window, and the history
 * only ever holds the copies a conversation took. The copy is written in
 * the same statement that creates the conversation, on the writer thread,
 * so that the first reply, which reads the conversation once it exists,
 * already finds it. */

#include "rill-preset.h"

#include "rill-store-private.h"

G_DEFINE_BOXED_TYPE (RillPreset, rill_preset, rill_preset_copy, rill_preset_free)

RillPreset *
rill_preset_new (const char *name)
{
  RillPreset *preset = g_new0 (RillPreset, 1);

  preset->name = g_strdup (name ? name : "");
  preset->system_prompt = g_strdup ("");
  preset->model = g_strdup ("");
  preset->server = g_strdup ("");
  preset->temperature = -1;
  preset->history_limit = 50;
  return preset;
}

RillPreset *
rill_preset_copy (const RillPreset *preset)
{
  RillPreset *copy;

  g_return_val_if_fail (preset != NULL, NULL);

  copy = g_memdup2 (preset, sizeof *preset);
  copy->name = g_strdup (preset->name);
  copy->system_prompt = g_strdup (preset->system_prompt);
  copy->model = g_strdup (preset->model);
  copy->server = g_strdup (preset->server);
  return copy;
}

void
rill_preset_free (RillPreset *preset)
{
  if (preset == NULL)
    return;
  g_free (preset->name);
  g_free (preset->system_prompt);
  g_free (preset->model);
  g_free (preset->server);
  g_free (preset);
}

GVariant *
rill_preset_to_variant (const RillPreset *preset)
{
  GVariantBuilder builder;

  g_return_val_if_fail (preset != NULL, NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "name", g_variant_new_string (preset->name));
  g_variant_builder_add (&builder, "{sv}", "system-prompt",
                         g_variant_new_string (preset->system_prompt ? preset->system_prompt : ""));
  g_variant_builder_add (&builder, "{sv}", "model",
                         g_variant_new_string (preset->model ? preset->model : ""));
  g_variant_builder_add (&builder, "{sv}", "server",
                         g_variant_new_string (preset->server ? preset->server : ""));
  g_variant_builder_add (&builder, "{sv}", "temperature",
                         g_variant_new_double (preset->temperature < 0 ? -1
                                               : preset->temperature));
  g_variant_builder_add (&builder, "{sv}", "history-limit",
                         g_variant_new_uint32 (preset->history_limit));
  return g_variant_builder_end (&builder);
}

RillPreset *
rill_preset_from_variant (GVariant *dict)
{
  g_autoptr(GVariantDict) values = NULL;
  RillPreset *preset;
  const char *name = NULL;
  const char *text;
  double temperature;
  guint32 limit;

  g_return_val_if_fail (dict != NULL, NULL);

  values = g_variant_dict_new (dict);
  if (!g_variant_dict_lookup (values, "name", "&s", &name) || *name == '\0')
    return NULL;
  preset = rill_preset_new (name);
  if (g_variant_dict_lookup (values, "system-prompt", "&s", &text))
    {
      g_free (preset->system_prompt);
      preset->system_prompt = g_strdup (text);
    }
  if (g_variant_dict_lookup (values, "model", "&s", &text))
    {
      g_free (preset->model);
      preset->model = g_strdup (text);
    }
  if (g_variant_dict_lookup (values, "server", "&s", &text))
    {
      g_free (preset->server);
      preset->server = g_strdup (text);
    }
  if (g_variant_dict_lookup (values, "temperature", "d", &temperature))
    preset->temperature = temperature < 0 ? -1 : MIN (temperature, 2);
  if (g_variant_dict_lookup (values, "history-limit", "u", &limit))
    preset->history_limit = limit;
  return preset;
}

GPtrArray *
rill_presets_load (GSettings *settings)
{
  g_autoptr(GVariant) list = NULL;
  GPtrArray *presets = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_preset_free);
  GVariantIter iter;
  GVariant *dict;

  g_return_val_if_fail (G_IS_SETTINGS (settings), presets);

  list = g_settings_get_value (settings, "presets");
  g_variant_iter_init (&iter, list);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      RillPreset *preset = rill_preset_from_variant (dict);

      if (preset != NULL)
        g_ptr_array_add (presets, preset);
      g_variant_unref (dict);
    }
  return presets;
}

void
rill_presets_save (GSettings *settings,
                   GPtrArray *presets)
{
  GVariantBuilder builder;

  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (presets != NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < presets->len; i++)
    g_variant_builder_add_value (&builder, rill_preset_to_variant (presets->pdata[i]));
  g_settings_set_value (settings, "presets", g_variant_builder_end (&builder));
}

/* The conversation with its copy */

typedef struct
{
  char       *title;
  RillPreset *preset;
  char       *server_url;
} CreateArgs;

static void
create_args_free (CreateArgs *args)
{
  g_free (args->title);
  rill_preset_free (args->preset);
  g_free (args->server_url);
  g_free (args);
}

static const char *
or_null (const char *text)
{
  return text != NULL && *text != '\0' ? text : NULL;
}

static void
create_job (RillStore *self,
            GTask     *task,
            gpointer   data)
{
  CreateArgs *args = data;
  RillPreset *preset = args->preset;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  gint64 id;

  if (!(stmt = rill_sqlite_prepare (self->writer,
                                    "INSERT INTO conversations (title, title_from_user, created_at,"
                                    " updated_at, uid, preset, system_prompt, model, server,"
                                    " server_url, temperature, history_limit)"
                                    " VALUES (?1, ?2, ?3, ?3, lower(hex(randomblob(16))),"
                                    " ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                    "save to", &error)))
    return _rill_store_return_write_error (task, self->writer, error);
  rill_sqlite_bind_text (stmt, 1, args->title ? args->title : "", -1);
  sqlite3_bind_int (stmt, 2, args->title != NULL);
  sqlite3_bind_int64 (stmt, 3, _rill_store_now_ms ());
  rill_sqlite_bind_text (stmt, 4, preset->name, -1);
  rill_sqlite_bind_text (stmt, 5, or_null (preset->system_prompt), -1);
  rill_sqlite_bind_text (stmt, 6, or_null (preset->model), -1);
  rill_sqlite_bind_text (stmt, 7, or_null (preset->server), -1);
  rill_sqlite_bind_text (stmt, 8, or_null (preset->server) ? args->server_url : NULL, -1);
  /* −1 is a value of its own: the server's default, whatever the
   * preferences say later. */
  sqlite3_bind_double (stmt, 9, preset->temperature < 0 ? -1 : preset->temperature);
  sqlite3_bind_int64 (stmt, 10, preset->history_limit);
  if (!rill_sqlite_step_done (self->writer, stmt, "save to", &error))
    return _rill_store_return_write_error (task, self->writer, error);
  id = sqlite3_last_insert_rowid (self->writer);
  _rill_store_queue_change (self, RILL_STORE_CONVERSATION_ADDED, id);
  g_task_return_int (task, id);
}

void
rill_store_create_conversation_from_preset_async (RillStore           *self,
                                                  const char          *title,
                                                  const RillPreset    *preset,
                                                  const char          *server_url,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data)
{
  CreateArgs *args;

  g_return_if_fail (RILL_IS_STORE (self));
  g_return_if_fail (preset != NULL);

  args = g_new0 (CreateArgs, 1);
  args->title = g_strdup (title);
  args->preset = rill_preset_copy (preset);
  args->server_url = g_strdup (server_url);
  /* The same source tag: rill_store_create_conversation_finish() takes it. */
  _rill_store_push_job (self, create_job,
                        _rill_store_new_task (self, cancellable, callback, user_data,
                                              rill_store_create_conversation_async),
                        args, (GDestroyNotify) create_args_free);
}
