/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-model-picker.h: the model drop-down in the header bar. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

/* One row of the picker: a model of one server, a server that could not
 * list its models (the reason in "error", no model), or the header above a
 * server's rows. */
#define RILL_TYPE_MODEL_CHOICE (rill_model_choice_get_type ())
G_DECLARE_FINAL_TYPE (RillModelChoice, rill_model_choice, RILL, MODEL_CHOICE, GObject)

const char *rill_model_choice_get_model        (RillModelChoice *self);
const char *rill_model_choice_get_server_id    (RillModelChoice *self);
const char *rill_model_choice_get_server_label (RillModelChoice *self);
/* Why the server is unreachable, or NULL for a model. */
const char *rill_model_choice_get_error        (RillModelChoice *self);
/* TRUE for the header above a server's rows: its name, not a choice (its
 * model is ""). */
gboolean    rill_model_choice_is_header        (RillModelChoice *self);

#define RILL_TYPE_MODEL_PICKER (rill_model_picker_get_type ())
G_DECLARE_FINAL_TYPE (RillModelPicker, rill_model_picker, RILL, MODEL_PICKER, AdwBin)

/* Properties: "session" (lists the models of every server switched on,
 * each server's as they arrive, whenever the servers change), "model" (the
 * model wanted: selected once listed, shown even when no server lists it;
 * empty for the first listed) and "server" (the id of the server wanted
 * with it; empty for any).
 * Signal: "model-chosen (const char *model)", only when the person picks;
 * "server" is then the chosen model's server. */
void  rill_model_picker_set_model           (RillModelPicker *self,
                                             const char      *model);
/* @server_id NULL or empty: the model from whichever server lists it. */
void  rill_model_picker_set_choice          (RillModelPicker *self,
                                             const char      *model,
                                             const char      *server_id);
/* What is selected now, or NULL when nothing is listed. */
char *rill_model_picker_dup_selected        (RillModelPicker *self);
/* The server of what is selected now, or NULL. */
char *rill_model_picker_dup_selected_server (RillModelPicker *self);
/* Opens the list, for the keyboard (Ctrl+M). */
void  rill_model_picker_popup               (RillModelPicker *self);

G_END_DECLS
