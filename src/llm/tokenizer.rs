//! The byte-level BPE tokenizer stored in a GGUF file (`tokenizer.ggml.model = gpt2`).
//!
//! Encoding goes through the `tokenizers` crate: a BPE model built from the file's token list
//! and merges, the pre-tokenizer named by `tokenizer.ggml.pre`, and the control tokens (such as
//! `<|im_start|>`) registered as special tokens so they are matched before BPE runs. Decoding
//! maps each token back to its bytes here (GPT-2's byte-to-character table, inverted), which
//! also gives [`TextStream`] what it needs to stream text that never splits a UTF-8 character.

use std::collections::HashMap;

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::AddedToken;

use super::LlmError;
use crate::gguf::Gguf;

/// GGUF token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// A tokenizer read from a GGUF file.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// Each token's bytes (control and user-defined tokens: their text as is).
    token_bytes: Vec<Vec<u8>>,
    special: Vec<bool>,
    bos: Option<u32>,
    eos: Option<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.token_bytes.len())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .finish()
    }
}

/// GPT-2's table from bytes to printable characters: printable Latin-1 bytes map to themselves,
/// the other 68 bytes to U+0100 onwards, in byte order.
fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).expect("below the surrogate range");
            next += 1;
            c
        };
    }
    table
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.*` metadata.
    pub fn from_gguf<D: AsRef<[u8]>>(gguf: &Gguf<D>) -> Result<Self, LlmError> {
        let model = gguf.get_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(LlmError::Unsupported(format!(
                "tokenizer.ggml.model is {model:?}; only byte-level BPE (\"gpt2\") is implemented"
            )));
        }
        let tokens = gguf.get_str_array("tokenizer.ggml.tokens")?;
        let merges = gguf.get_str_array("tokenizer.ggml.merges")?;
        let types = match gguf.get("tokenizer.ggml.token_type") {
            Some(_) => gguf.get_i64_array("tokenizer.ggml.token_type")?,
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(LlmError::Model(format!(
                "tokenizer.ggml.token_type has {} entries, tokenizer.ggml.tokens {}",
                types.len(),
                tokens.len()
            )));
        }
        let id_of = |key: &str| -> Result<Option<u32>, LlmError> {
            match gguf.get(key) {
                None => Ok(None),
                Some(_) => {
                    let id = gguf.get_u64(key)?;
                    if id >= tokens.len() as u64 {
                        return Err(LlmError::Model(format!("{key} is {id}, past the vocabulary of {}", tokens.len())));
                    }
                    Ok(Some(id as u32))
                }
            }
        };
        let bos = id_of("tokenizer.ggml.bos_token_id")?;
        let eos = id_of("tokenizer.ggml.eos_token_id")?;

        let mut vocab = Vocab::default();
        for (id, tok) in tokens.iter().enumerate() {
            vocab.entry(tok.to_string()).or_insert(id as u32);
        }
        let mut merge_pairs = Vec::with_capacity(merges.len());
        for (i, m) in merges.iter().enumerate() {
            let (a, b) = m
                .split_once(' ')
                .ok_or_else(|| LlmError::Model(format!("tokenizer.ggml.merges[{i}] = {m:?} has no space")))?;
            merge_pairs.push((a.to_string(), b.to_string()));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merge_pairs)
            .build()
            .map_err(|e| LlmError::Model(format!("building the BPE model: {e}")))?;

        let pre = gguf.get_str("tokenizer.ggml.pre").unwrap_or("default");
        let byte_level = ByteLevel::new(false, true, true);
        let pre_tokenizer: PreTokenizerWrapper = match pre {
            // SmolLM's tokenizer splits every digit on its own before the GPT-2 split.
            "smollm" | "starcoder" | "refact" => {
                Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into()
            }
            "gpt2" | "default" => byte_level.into(),
            other => {
                return Err(LlmError::Unsupported(format!(
                    "tokenizer.ggml.pre is {other:?}; implemented: smollm, starcoder, refact, gpt2, default"
                )))
            }
        };

        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        inner.with_decoder(Some(ByteLevel::default()));
        let mut added = Vec::new();
        let mut special = vec![false; tokens.len()];
        for (id, (tok, &ty)) in tokens.iter().zip(&types).enumerate() {
            if ty == TOKEN_TYPE_CONTROL || ty == TOKEN_TYPE_USER_DEFINED {
                special[id] = true;
                added.push(AddedToken::from(tok.to_string(), ty == TOKEN_TYPE_CONTROL));
            }
        }
        inner.add_special_tokens(&added);

        let table = byte_to_char_table();
        let mut char_to_byte = HashMap::with_capacity(256);
        for (b, c) in table.iter().enumerate() {
            char_to_byte.insert(*c, b as u8);
        }
        let token_bytes = tokens
            .iter()
            .zip(&special)
            .map(|(tok, &is_special)| {
                if is_special {
                    return tok.as_bytes().to_vec();
                }
                let mut out = Vec::with_capacity(tok.len());
                for c in tok.chars() {
                    match char_to_byte.get(&c) {
                        Some(&b) => out.push(b),
                        None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    }
                }
                out
            })
            .collect();

        Ok(Self { inner, token_bytes, special, bos, eos })
    }

    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// Whether `id` is a control or user-defined token (matched as a whole before BPE).
    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(false)
    }

    /// Token ids of `text`, special tokens included where their text appears. No BOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        let enc = self.inner.encode(text, false).map_err(|e| LlmError::Tokenizer(format!("encoding {text:?}: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The bytes of one token (empty for an id outside the vocabulary).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// The bytes of a token sequence.
    pub fn decode_bytes(&self, ids: &[u32]) -> Vec<u8> {
        ids.iter().flat_map(|&id| self.token_bytes(id).iter().copied()).collect()
    }

    /// The text of a token sequence; invalid UTF-8 becomes U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        String::from_utf8_lossy(&self.decode_bytes(ids)).into_owned()
    }

    /// The chat template of SmolLM2-Instruct for one user turn, ending where the assistant's
    /// answer begins.
    pub fn chat_prompt(user: &str) -> String {
        format!("<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
    }
}

/// Turns token bytes into text chunks as they arrive, holding back an incomplete UTF-8 sequence
/// until the next token completes it.
#[derive(Default, Debug)]
pub struct TextStream {
    pending: Vec<u8>,
}

impl TextStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` and returns the text that is complete so far (possibly empty).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).expect("valid prefix"));
                    match e.error_len() {
                        // Incomplete sequence at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        // Invalid bytes: replace and go on.
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + n);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is still held back, lossily.
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_a_bijection() {
        let t = byte_to_char_table();
        let set: std::collections::HashSet<char> = t.iter().copied().collect();
        assert_eq!(set.len(), 256);
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
    }

    #[test]
    fn text_stream_holds_back_split_characters() {
        let mut s = TextStream::new();
        let e = "é".as_bytes();
        assert_eq!(s.push(b"ab"), "ab");
        assert_eq!(s.push(&e[..1]), "");
        assert_eq!(s.push(&e[1..]), "é");
        assert_eq!(s.push(&[0xff, b'x']), "\u{fffd}x");
        assert_eq!(s.push(&e[..1]), "");
        assert_eq!(s.finish(), "\u{fffd}");
    }
}
