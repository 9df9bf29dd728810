//! The model of a `#[derive(SessionStore)]` input that the expansion reads.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;

use super::attr::{self, BackendKind, Compression, DataFormat, OnDelete};
use super::field_type::{self, Builtin};
use super::Ctxt;

#[derive(Clone)]
pub struct Container<'a> {
    pub ident: &'a syn::Ident,
    pub vis: &'a syn::Visibility,
    /// The session table's name, which is also its module.
    pub table: syn::Ident,
    /// `None` when missing or unknown; `check` reports it.
    pub backend: Option<(BackendKind, syn::Ident)>,
    /// The name of the `DieselStore<Self>` alias.
    pub store: syn::Ident,
    /// The path to session_runtime.
    pub krate: syn::Path,
    /// The `unlogged` key, when given; `check` allows it on PostgreSQL only.
    pub unlogged: Option<TokenStream>,
    /// The `data` key and its format, when given; `check` allows it on
    /// PostgreSQL only.
    pub data: Option<(DataFormat, TokenStream)>,
    /// The `compression` key and its method, when given; `check` allows it
    /// on PostgreSQL only.
    pub compression: Option<(Compression, TokenStream)>,
    pub fields: Vec<Field<'a>>,
    /// Whether the struct has named fields (or none), the one shape that
    /// can be a table; `check` reports the others.
    pub is_named_struct: bool,
    pub generics: &'a syn::Generics,
}

#[derive(Clone)]
pub struct Field<'a> {
    pub ident: &'a syn::Ident,
    pub ty: &'a syn::Type,
    /// `T` for `Option<T>`, else the field's type.
    pub value_ty: &'a syn::Type,
    pub nullable: bool,
    pub column: syn::Ident,
    /// Where in the session map the value lives.
    pub key: String,
    pub members: Vec<String>,
    /// The SQL type without `Nullable`; `None` for an unsupported type.
    pub sql_type: Option<TokenStream>,
    pub index: bool,
    pub references: Option<Reference>,
    pub default: Option<syn::Path>,
    pub attrs: attr::Field,
}

#[derive(Clone)]
pub struct Reference {
    /// The referenced table's module.
    pub table: syn::Path,
    /// The referenced column, or the table's primary key.
    pub column: Option<syn::Ident>,
    pub on_delete: OnDelete,
    /// `references = ...`, where type errors about the key are reported.
    pub span: Span,
}

impl<'a> Container<'a> {
    pub fn from_ast(cx: &Ctxt, input: &'a syn::DeriveInput) -> Container<'a> {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        let (fields, is_named_struct): (Vec<&syn::Field>, bool) = match &input.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(named) => (named.named.iter().collect(), true),
                syn::Fields::Unit => (Vec::new(), true),
                syn::Fields::Unnamed(_) => (Vec::new(), false),
            },
            _ => (Vec::new(), false),
        };
        let backend = attrs.backend.get().cloned();
        let krate = attrs
            .krate
            .get()
            .cloned()
            .unwrap_or_else(|| syn::parse_quote!(::session_runtime));
        let fields = fields
            .into_iter()
            .map(|field| Field::from_ast(cx, field, backend.as_ref(), &krate))
            .collect();
        Container {
            ident: &input.ident,
            vis: &input.vis,
            table: attrs
                .table
                .get()
                .cloned()
                .unwrap_or_else(|| syn::Ident::new("sessions", input.ident.span())),
            backend,
            store: attrs
                .store
                .get()
                .cloned()
                .unwrap_or_else(|| format_ident!("{}Store", input.ident)),
            krate,
            unlogged: attrs.unlogged.tokens().cloned(),
            data: attrs.data.get().copied().zip(attrs.data.tokens().cloned()),
            compression: attrs
                .compression
                .get()
                .copied()
                .zip(attrs.compression.tokens().cloned()),
            fields,
            is_named_struct,
            generics: &input.generics,
        }
    }
}

impl<'a> Container<'a> {
    /// The container as its table on one backend of `backend = any`: each
    /// field's SQL type that of `kind`, and of the keys that choose a
    /// backend's column types or table options, the ones `kind` has.
    pub fn on_backend(&self, kind: BackendKind) -> Container<'a> {
        let Some((_, backend)) = &self.backend else {
            return self.clone();
        };
        let span = backend.span();
        let mut on = self.clone();
        on.backend = Some((kind, kind.module(span)));
        for field in &mut on.fields {
            if field.attrs.sql_type.get().is_none() {
                field.sql_type = Builtin::of(field.value_ty)
                    .map(|builtin| builtin.sql_type(&self.krate, kind, span));
            }
        }
        if kind != BackendKind::Postgres {
            on.unlogged = None;
            on.compression = None;
        }
        on.data = on.data.filter(|(format, _)| {
            *format == DataFormat::Encrypted || DataFormat::of_backend(kind).contains(format)
        });
        on
    }
}

impl<'a> Field<'a> {
    fn from_ast(
        cx: &Ctxt,
        field: &'a syn::Field,
        backend: Option<&(BackendKind, syn::Ident)>,
        krate: &syn::Path,
    ) -> Field<'a> {
        let ident = field.ident.as_ref().expect("named fields have names");
        let attrs = attr::Field::from_ast(cx, &field.attrs);
        let (value_ty, nullable) = match field_type::option_inner(&field.ty) {
            Some(inner) => (inner, true),
            None => (&field.ty, false),
        };
        let sql_type = match (attrs.sql_type.get(), backend) {
            (Some(sql_type), _) => Some(sql_type.to_token_stream()),
            (None, Some((kind, backend))) => {
                Builtin::of(value_ty).map(|builtin| builtin.sql_type(krate, *kind, backend.span()))
            }
            (None, None) => None,
        };
        let name = unraw(ident);
        let references = attrs.references.get().map(|table| Reference {
            table: table.clone(),
            column: attrs.referenced_column.get().cloned(),
            on_delete: attrs.on_delete.get().copied().unwrap_or(OnDelete::Cascade),
            span: table.span(),
        });
        Field {
            ident,
            ty: &field.ty,
            value_ty,
            nullable,
            column: attrs.column.get().cloned().unwrap_or_else(|| ident.clone()),
            key: attrs.key.get().map_or(name, syn::LitStr::value),
            members: attrs
                .pointer
                .get()
                .map(|pointer| parse_pointer(cx, pointer))
                .unwrap_or_default(),
            sql_type,
            index: attrs.index.get().is_some(),
            references,
            default: attrs.default.get().cloned(),
            attrs,
        }
    }

    /// The column's SQL type in the `table!`, `Nullable` for `Option`.
    pub fn table_sql_type(&self, krate: &syn::Path) -> Option<TokenStream> {
        let sql_type = self.sql_type.as_ref()?;
        Some(if self.nullable {
            quote!(#krate::__private::diesel::sql_types::Nullable<#sql_type>)
        } else {
            sql_type.clone()
        })
    }
}

/// The name of an identifier without its `r#`.
pub fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
}

/// The member names of an RFC 6901 JSON pointer such as `/user_id`.
fn parse_pointer(cx: &Ctxt, pointer: &syn::LitStr) -> Vec<String> {
    let text = pointer.value();
    let Some(rest) = text.strip_prefix('/') else {
        cx.error_spanned_by(
            pointer,
            "a pointer is a JSON pointer that starts with `/`\n\n\
             help: the correct format looks like `#[session(key = \"axum-login.data\", pointer = \"/user_id\")]`",
        );
        return Vec::new();
    };
    rest.split('/')
        .map(|member| member.replace("~1", "/").replace("~0", "~"))
        .collect()
}
