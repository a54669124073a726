// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * rust_demangle() against binutils 2.40 `c++filt -i`. The real vectors come from `nm` on
 * programs built with rustc 1.95 (legacy and -C symbol-mangling-version=v0: generics,
 * closures, async fns, trait impls, references, slices, tuples, arrays, fn pointers, dyn
 * traits, const generics, non-ASCII identifiers), on rustup and on librustc_driver; the
 * hand-made ones cover grammar corners rustc rarely emits. Malformed input must give NULL
 * or a string, never a crash or an out-of-bounds read: run under valgrind to see the latter.
 */
#include <stdlib.h>
#include <string.h>
#include "rust_demangle.h"
#include "tap.h"
#include "util.h"

struct vec {
	const char *sym, *want;
};

static const struct vec real[] = {
	{ "_RNvCsgwiwt6F3Sso_3gen2cf",
	  "gen::cf" },
	{ "_RNvCsgwiwt6F3Sso_3gen3cuw",
	  "gen::cuw" },
	{ "_RINvCsgwiwt6F3Sso_3gen1geEB2_",
	  "gen::g::<str>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gOdEB2_",
	  "gen::g::<*mut f64>" },
	{ "_RNvMNtCs8NwYtU1Mohg_4core3stre9from_utf8",
	  "<str>::from_utf8" },
	{ "_RNvMCsaU4SGHzJQfv_6blake3NtB2_4Hash6to_hex",
	  "<blake3::Hash>::to_hex" },
	{ "_RNvXCsgwiwt6F3Sso_3geneNtB2_2Tr1fB2_",
	  "<str as gen::Tr>::f" },
	{ "_RNvXCsgwiwt6F3Sso_3genOdNtB2_2Tr1fB2_",
	  "<*mut f64 as gen::Tr>::f" },
	{ "_RNCNvCsgwiwt6F3Sso_3gen4main0B3_",
	  "gen::main::{closure#0}" },
	{ "_RNCNvCs3JpXfVvpfaM_4feat4main0B3_",
	  "feat::main::{closure#0}" },
	{ "_RNCNvCsgwiwt6F3Sso_3gen4mains_0B3_",
	  "gen::main::{closure#1}" },
	{ "_RNCNvCs3JpXfVvpfaM_4feat4mains_0B3_",
	  "feat::main::{closure#1}" },
	{ "_RNSNvYNCNvCsgwiwt6F3Sso_3gen4main0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceTReE"
	  "E9call_once6vtableB8_",
	  "<gen::main::{closure#0} as core::ops::function::FnOnce<(&str,)>>::call_once::{shim:vt"
	  "able#0}" },
	{ "_RNSNvYNCNvCs3JpXfVvpfaM_4feat4main0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceTRe"
	  "EE9call_once6vtableB8_",
	  "<feat::main::{closure#0} as core::ops::function::FnOnce<(&str,)>>::call_once::{shim:v"
	  "table#0}" },
	{ "_RNvNCNKNvNtCs3zyCZg5iFum_8fastrand10global_rng3RNG0s_023___RUST_STD_INTERNAL_VAL",
	  "fastrand::global_rng::RNG::{K#0}::{closure#1}::__RUST_STD_INTERNAL_VAL" },
	{ "_RNvNCNKNvNtCs6sjbTC7SRRb_17rustc_thread_pool3tlv3TLV0s_023___RUST_STD_INTERNAL_VAL",
	  "rustc_thread_pool::tlv::TLV::{K#0}::{closure#1}::__RUST_STD_INTERNAL_VAL" },
	{ "_RNvXs1h_NtCs8NwYtU1Mohg_4core3fmtQShNtB6_5Debug3fmtCscYsbIx0cOGh_14rustc_demangle",
	  "<&mut [u8] as core::fmt::Debug>::fmt" },
	{ "_RNvXNtCs8NwYtU1Mohg_4core3fmtQNtB2_9FormatterNtB2_5Write9write_strCscYsbIx0cOGh_14ru"
	  "stc_demangle",
	  "<&mut core::fmt::Formatter as core::fmt::Write>::write_str" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gFG_RL0_eERL0_eEB2_",
	  "gen::g::<for<'a> fn(&'a str) -> &'a str>" },
	{ "_RINvCs3JpXfVvpfaM_4feat4flagKb1_Kc78_Kl5_EB2_",
	  "feat::flag::<true, 'x', 5>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gShEB2_",
	  "gen::g::<[u8]>" },
	{ "_RNvNvMNtCs8NwYtU1Mohg_4core5sliceSp16align_to_offsets3gcd",
	  "<[_]>::align_to_offsets::gcd" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gAtj3_EB2_",
	  "gen::g::<[u16; 3]>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gAAsj2_j3_EB2_",
	  "gen::g::<[[i16; 2]; 3]>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gThxTcEuEEB2_",
	  "gen::g::<(u8, i64, (char,), ())>" },
	{ "_RNvXCsgwiwt6F3Sso_3genThxTcEuENtB2_2Tr1fB2_",
	  "<(u8, i64, (char,), ()) as gen::Tr>::f" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gFEzEB2_",
	  "gen::g::<fn() -> !>" },
	{ "_RNvXCsgwiwt6F3Sso_3genFEzNtB2_2Tr1fB2_",
	  "<fn() -> ! as gen::Tr>::f" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gFlElEB2_",
	  "gen::g::<fn(i32) -> i32>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gFUKCPavElEB2_",
	  "gen::g::<unsafe extern \"C\" fn(*const i8, ...) -> i32>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gFUKCPhOaEuEB2_",
	  "gen::g::<unsafe extern \"C\" fn(*const u8, *mut i8)>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gFK8C_unwindEuEB2_",
	  "gen::g::<extern \"C-unwind\" fn()>" },
	{ "_RNvXCsgwiwt6F3Sso_3genFUKCPavElNtB2_2Tr1fB2_",
	  "<unsafe extern \"C\" fn(*const i8, ...) -> i32 as gen::Tr>::f" },
	{ "_RNvXCsgwiwt6F3Sso_3genFUKCPhOaEuNtB2_2Tr1fB2_",
	  "<unsafe extern \"C\" fn(*const u8, *mut i8) as gen::Tr>::f" },
	{ "_RINvNtCsgEmfK2I1SDS_4core3mem11size_of_valFEzECsgwiwt6F3Sso_3gen",
	  "core::mem::size_of_val::<fn() -> !>" },
	{ "_RNvXs_NtCsdlM2EbGYIhh_9rustc_hir10intravisitzNtB4_9HirTyCtxt8hir_body",
	  "<! as rustc_hir::intravisit::HirTyCtxt>::hir_body" },
	{ "_RNvXs1g_NtCsgEmfK2I1SDS_4core3fmtRDNtB6_5DebugEL_Bx_3fmtB8_",
	  "<&dyn core::fmt::Debug as core::fmt::Debug>::fmt" },
	{ "_RNvXs_NtCs8NwYtU1Mohg_4core3anyDNtB4_3AnyEL_NtNtB6_3fmt5Debug3fmt",
	  "<dyn core::any::Any as core::fmt::Debug>::fmt" },
	{ "_RNvXs0_NtCs8NwYtU1Mohg_4core3anyDNtB5_3AnyNtNtB7_6marker4SendEL_NtNtB7_3fmt5Debug3fm"
	  "t",
	  "<dyn core::any::Any + core::marker::Send as core::fmt::Debug>::fmt" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gDNtNtCsgEmfK2I1SDS_4core3fmt5DebugNtNtBr_6marker4SyncNtBW_4S"
	  "endEL_EB2_",
	  "gen::g::<dyn core::fmt::Debug + core::marker::Sync + core::marker::Send>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gDG_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTRL0_eEEp6Outpu"
	  "tbEL_EB2_",
	  "gen::g::<dyn for<'a> core::ops::function::Fn<(&'a str,), Output = bool>>" },
	{ "_RNvXCsgwiwt6F3Sso_3genDG_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTRL0_eEEp6Outputb"
	  "EL_NtB2_2Tr1fB2_",
	  "<dyn for<'a> core::ops::function::Fn<(&'a str,), Output = bool> as gen::Tr>::f" },
	{ "_RNvXCsgwiwt6F3Sso_3genFG_RL0_eERL0_eNtB2_2Tr1fB2_",
	  "<for<'a> fn(&'a str) -> &'a str as gen::Tr>::f" },
	{ "_RINvNtCsgEmfK2I1SDS_4core3mem11size_of_valFG_RL0_eERL0_eECsgwiwt6F3Sso_3gen",
	  "core::mem::size_of_val::<for<'a> fn(&'a str) -> &'a str>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gPSlEB2_",
	  "gen::g::<*const [i32]>" },
	{ "_RNvXCsgwiwt6F3Sso_3genPSlNtB2_2Tr1fB2_",
	  "<*const [i32] as gen::Tr>::f" },
	{ "_RNvMs0_Cs3JpXfVvpfaM_4featINtB5_6MatrixKj2_Kj3_E3sumB5_",
	  "<feat::Matrix<2, 3>>::sum" },
	{ "_RINvCs3JpXfVvpfaM_4feat4flagKb0_Kca_Kln3_EB2_",
	  "feat::flag::<false, '\\n', -3>" },
	{ "_RINvMs_NtCsgVdDwkt78Uu_4jiff5errorNtB5_5Error5rangeINtNtNtB7_4util8rangeint4ri32Knn3"
	  "b9ac9ff_Kn3b9ac9ff_EllEB7_",
	  "<jiff::error::Error>::range::<jiff::util::rangeint::ri32<-999999999, 999999999>, i32,"
	  " i32>" },
	{ "_RINvCs3JpXfVvpfaM_4feat4flagKb1_Kce9_Kl0_EB2_",
	  "feat::flag::<true, '\\u{e9}', 0>" },
	{ "_RINvMsi_NtCsgvbsrvnw3yD_9hashbrown3rawINtB6_12RawIterRangeTReINtNtCslNYArtu3iFV_5all"
	  "oc3vec3VeclEEE9next_implKb0_ECs3JpXfVvpfaM_4feat",
	  "<hashbrown::raw::RawIterRange<(&str, alloc::vec::Vec<i32>)>>::next_impl::<false>" },
	{ "_RINvNtCsi4IsKQVxMg0_3std9panicking11begin_panicReEB4_",
	  "std::panicking::begin_panic::<&str>" },
	{ "_RNvXs1i_NtCsgEmfK2I1SDS_4core3fmtReNtB6_7Display3fmtB8_",
	  "<&str as core::fmt::Display>::fmt" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gTfdbcjionmtslEEB2_",
	  "gen::g::<(f32, f64, bool, char, usize, isize, u128, i128, u32, u16, i16, i32)>" },
	{ "_RNvMs0_Cs3zyCZg5iFum_8fastrandNtB5_3Rng3f32",
	  "<fastrand::Rng>::f32" },
	{ "_RNvMs0_NtNtCs8NwYtU1Mohg_4core3fmt3numo4__fmt",
	  "<u128>::_fmt" },
	{ "_RNvXCsgwiwt6F3Sso_3genTfdbcjionmtslENtB2_2Tr1fB2_",
	  "<(f32, f64, bool, char, usize, isize, u128, i128, u32, u16, i16, i32) as gen::Tr>::f" },
	{ "_RNvNtCs3JpXfVvpfaM_4featu10nicode_2yau9gre_6ka8l",
	  "feat::ünicode::grüße" },
	{ "_RNvMNtCs3JpXfVvpfaM_4featu10nicode_2yaNtB2_u9Strae_oqau8lnge_loa",
	  "<feat::ünicode::Straße>::länge" },
	{ "_RNvNtNtCsjrHSEGnQ3l9_3std6thread11main_thread4MAIN.0",
	  "std::thread::main_thread::MAIN" },
	{ "_RNvNtNtNtNtCsjrHSEGnQ3l9_3std3sys4args4unix3imp4ARGC.0",
	  "std::sys::args::unix::imp::ARGC" },
	{ "_RNvCsgwiwt6F3Sso_3gen3dbl",
	  "gen::dbl" },
	{ "_RNvCs3JpXfVvpfaM_4feat3cfn",
	  "feat::cfn" },
	{ "_RNvNvMs_NtCsbEht8wFNRx7_5alloc3vecINtB6_3VecppE6remove13assert_failed",
	  "<alloc::vec::Vec<_, _>>::remove::assert_failed" },
	{ "_RNvNvMs0_Cs9Gga4UosLDO_6thorinINtB7_12DwarfPackagepE6finish10___CALLSITE",
	  "<thorin::DwarfPackage<_>>::finish::__CALLSITE" },
	{ "_RNvMsk_NtNtNtCs8NwYtU1Mohg_4core3fmt3num3impj4__fmt",
	  "<usize>::_fmt" },
	{ "_RNvXs4_NtNtCs8NwYtU1Mohg_4core3fmt3numjNtB7_5Octal3fmt",
	  "<usize as core::fmt::Octal>::fmt" },
	{ "_ZN3gen1g17h1871af80cea84627E",
	  "gen::g" },
	{ "_ZN3gen10W$LT$T$GT$4show17ha82be87072323cb9E",
	  "gen::W<T>::show" },
	{ "_ZN4feat15Circle$LT$T$GT$3new17hbb9e7ed7560c12d6E",
	  "feat::Circle<T>::new" },
	{ "_ZN3gen4main28_$u7b$$u7b$closure$u7d$$u7d$17h4b50688c6ef25e20E",
	  "gen::main::{{closure}}" },
	{ "_ZN4feat4main28_$u7b$$u7b$closure$u7d$$u7d$17h29d029ce530f4259E",
	  "feat::main::{{closure}}" },
	{ "_ZN29_$LT$T$u20$as$u20$gen..Tr$GT$1f17h01d61646bf947b18E",
	  "<T as gen::Tr>::f" },
	{ "_ZN38_$LT$u64$u20$as$u20$itoa..Unsigned$GT$3fmt17haab8c5db99f269f5E",
	  "<u64 as itoa::Unsigned>::fmt" },
	{ "_ZN4feat19Matrix$LT$_$C$_$GT$3sum17h03c194dc649cc22dE",
	  "feat::Matrix<_,_>::sum" },
	{ "_ZN5alloc3vec16Vec$LT$T$C$A$GT$6resize17ha56369e73ac92731E",
	  "alloc::vec::Vec<T,A>::resize" },
	{ "_ZN42_$LT$$RF$T$u20$as$u20$core..fmt..Debug$GT$3fmt17h0016b895af691adeE",
	  "<&T as core::fmt::Debug>::fmt" },
	{ "_ZN44_$LT$$RF$T$u20$as$u20$core..fmt..Display$GT$3fmt17h0477ceeeaf32c938E",
	  "<&T as core::fmt::Display>::fmt" },
	{ "_ZN50_$LT$$BP$mut$u20$T$u20$as$u20$core..fmt..Debug$GT$3fmt17h1270cc0296d3940aE",
	  "<*mut T as core::fmt::Debug>::fmt" },
	{ "_ZN4core3ptr9const_ptr33_$LT$impl$u20$$BP$const$u20$T$GT$13is_aligned_to17h2e27e56a26"
	  "2b3b91E",
	  "core::ptr::const_ptr::<impl *const T>::is_aligned_to" },
	{ "_ZN45_$LT$$LP$$RP$$u20$as$u20$core..fmt..Debug$GT$3fmt17ha678180516c50070E",
	  "<() as core::fmt::Debug>::fmt" },
	{ "_ZN50_$LT$$LP$U$C$T$RP$$u20$as$u20$core..fmt..Debug$GT$3fmt17h15f57ebd57523418E",
	  "<(U,T) as core::fmt::Debug>::fmt" },
	{ "_ZN4core3str21_$LT$impl$u20$str$GT$3len17h480003643c4cff8dE",
	  "core::str::<impl str>::len" },
	{ "_ZN4core3str21_$LT$impl$u20$str$GT$8is_empty17h0bd3634b84b9d413E",
	  "core::str::<impl str>::is_empty" },
	{ "_ZN4feat12_$ufc$nicode13gr$ufc$$udf$e17hf3c85ff51e0727bfE",
	  "feat::$ufc$nicode::gr$ufc$$udf$e" },
	{ "_ZN4feat12_$ufc$nicode10Stra$udf$e9l$ue4$nge17h680e74777f18dd80E",
	  "feat::$ufc$nicode::Stra$udf$e::l$ue4$nge" },
	{ "_ZN4core3ptr32drop_in_place$LT$want..Taker$GT$17he6d5b98a260b5cf3E",
	  "core::ptr::drop_in_place<want::Taker>" },
	{ "_ZN39_$LT$u128$u20$as$u20$itoa..Unsigned$GT$3fmt17hf1f2aed971d5a8aaE",
	  "<u128 as itoa::Unsigned>::fmt" },
	{ "_ZN3std2io5Write9write_all17hd5f662cdaede4a2aE.llvm.4925767852492264029",
	  "std::io::Write::write_all" },
	{ "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h4e6172476635d87eE.llvm.4925767"
	  "852492264029",
	  "std::rt::lang_start::{{closure}}" },
	{ "_ZN3log6LOGGER17hf2ca5a261a905afcE.0",
	  "log::LOGGER" },
	{ "_ZN5alloc3fmt6format17hece24b43464058e6E.3193",
	  "alloc::fmt::format" },
	{ "_ZN4feat5fetch28_$u7b$$u7b$closure$u7d$$u7d$17h3e3aee8d696483f3E",
	  "feat::fetch::{{closure}}" },
	{ "_ZN4feat5outer28_$u7b$$u7b$closure$u7d$$u7d$17h478bfd55fee7634fE",
	  "feat::outer::{{closure}}" },
	{ "_ZN44_$LT$$RF$T$u20$as$u20$core..fmt..Pointer$GT$3fmt17h0c772cc3ca83c2f2E",
	  "<&T as core::fmt::Pointer>::fmt" },
	{ "_ZN45_$LT$$RF$T$u20$as$u20$core..fmt..LowerHex$GT$3fmt17h2ad393db4fa16abbE",
	  "<&T as core::fmt::LowerHex>::fmt" },
	{ "_RNvXs_NtNtNtCs1j3SSn6vP2v_6object4read2pe6exportNtB4_6ExportNtNtCs8NwYtU1Mohg_4core3"
	  "fmt5Debug3fmt",
	  "<object::read::pe::export::Export as core::fmt::Debug>::fmt" },
	{ "_ZN4core3ptr65drop_in_place$LT$alloc..vec..Vec$LT$alloc..string..String$GT$$GT$17h813"
	  "5d200f8764e85E",
	  "core::ptr::drop_in_place<alloc::vec::Vec<alloc::string::String>>" },
	{ "_RNvXsc_NtNtNtCsdeN5Nx9jg0b_10wasmparser7readers4core5typesNtB5_13CompositeTypeNtNtCs"
	  "gEmfK2I1SDS_4core3fmt7Display3fmt",
	  "<wasmparser::readers::core::types::CompositeType as core::fmt::Display>::fmt" },
	{ "_RNvXs_NtNtCsjxgNLT6K5IZ_10serde_json5value5indexeNtB4_5Index10index_into",
	  "<str as serde_json::value::index::Index>::index_into" },
	{ "_ZN114_$LT$rustls..crypto..aws_lc_rs..tls13..GcmMessageEncrypter$u20$as$u20$rustls..c"
	  "rypto..cipher..MessageEncrypter$GT$7encrypt17h641a3adcf3de1ab8E",
	  "<rustls::crypto::aws_lc_rs::tls13::GcmMessageEncrypter as rustls::crypto::cipher::Mes"
	  "sageEncrypter>::encrypt" },
	{ "_ZN5alloc7raw_vec19RawVec$LT$T$C$A$GT$8grow_one17h397a9fab3624e02cE",
	  "alloc::raw_vec::RawVec<T,A>::grow_one" },
	{ "_RNvMsj_NtNtCsc02ZBFZVF0o_14regex_automata4meta5regexNtB5_7Builder5build",
	  "<regex_automata::meta::regex::Builder>::build" },
	{ "_RNvMsg_NtCslfh4a8xSioF_13rustc_feature8unstableNtB5_8Features17more_maybe_bounds",
	  "<rustc_feature::unstable::Features>::more_maybe_bounds" },
	{ "_ZN12clap_builder6parser6parser6Parser18did_you_mean_error17h7fed27ebe5a6c68cE",
	  "clap_builder::parser::parser::Parser::did_you_mean_error" },
	{ "_RNvXsh_NvNtCsdoLGDhjbLAL_13rustc_type_ir12search_graphs1_1__NtB5_16InternalBitFlagsN"
	  "tNtCsgEmfK2I1SDS_4core3fmt5Octal3fmt",
	  "<rustc_type_ir::search_graph::_::InternalBitFlags as core::fmt::Octal>::fmt" },
	{ "_ZN82_$LT$regex_automata..nfa..thompson..pikevm..Config$u20$as$u20$core..fmt..Debug$G"
	  "T$3fmt17h93a37581ddbfc701E",
	  "<regex_automata::nfa::thompson::pikevm::Config as core::fmt::Debug>::fmt" },
	{ "_ZN6rustup4dist13manifestation13Manifestation6update28_$u7b$$u7b$closure$u7d$$u7d$10_"
	  "_CALLSITE4META17h26ba2dee353e5298E",
	  "rustup::dist::manifestation::Manifestation::update::{{closure}}::__CALLSITE::META" },
	{ "_RNvMsg_NtCslfh4a8xSioF_13rustc_feature8unstableNtB5_8Features24loongarch_target_feat"
	  "ure",
	  "<rustc_feature::unstable::Features>::loongarch_target_feature" },
	{ "_RNvMs2_NtNtCsgEmfK2I1SDS_4core3fmt8buildersNtB5_10DebugTuple21finish_non_exhaustive",
	  "<core::fmt::builders::DebugTuple>::finish_non_exhaustive" },
	{ "_RNvXs_NtNtCs50vtQ9z3K53_16rustc_const_eval10const_eval13dummy_machineNtB4_12DummyMac"
	  "hineNtNtNtB8_9interpret7machine7Machine14call_intrinsic",
	  "<rustc_const_eval::const_eval::dummy_machine::DummyMachine as rustc_const_eval::inter"
	  "pret::machine::Machine>::call_intrinsic" },
	{ "_RNvNvNvNtNtCsaKdFadCGQuc_21rustc_trait_selection6traits9normalize23normalize_with_de"
	  "pth_tos1_10___CALLSITE4META",
	  "rustc_trait_selection::traits::normalize::normalize_with_depth_to::__CALLSITE::META" },
	{ "_RNvMs8_NtNtCsfYjo4IdSolJ_12aho_corasick3nfa13noncontiguousNtB5_8Compiler27init_unanc"
	  "hored_start_state",
	  "<aho_corasick::nfa::noncontiguous::Compiler>::init_unanchored_start_state" },
	{ "_RNvMs2_NtCs4VhAnyDxSXp_12regex_syntax3hirNtB5_3Hir9into_kind",
	  "<regex_syntax::hir::Hir>::into_kind" },
	{ "_ZN3std4sync9once_lock17OnceLock$LT$T$GT$10initialize17h30ce8d09bde81003E",
	  "std::sync::once_lock::OnceLock<T>::initialize" },
	{ "_ZN89_$LT$tracing_subscriber..filter..directive..StaticDirective$u20$as$u20$core..cmp"
	  "..Ord$GT$3cmp17hcd561206651172aaE",
	  "<tracing_subscriber::filter::directive::StaticDirective as core::cmp::Ord>::cmp" },
	{ "_RNvMNtNtCseU4TY5EZiJk_6object5write2peNtB2_6Writer25write_dos_header_and_stub",
	  "<object::write::pe::Writer>::write_dos_header_and_stub" },
	{ "_ZN63_$LT$rustup..dist..TargetTriple$u20$as$u20$core..fmt..Debug$GT$3fmt17h81ec3fbec8"
	  "36dffaE",
	  "<rustup::dist::TargetTriple as core::fmt::Debug>::fmt" },
	{ "_RNvXs4i_NtCsiLkOfxryNm2_5gimli9constantsNtB6_5DwIdxNtNtCs8NwYtU1Mohg_4core3fmt7Displ"
	  "ay3fmt",
	  "<gimli::constants::DwIdx as core::fmt::Display>::fmt" },
	{ "_RNvXs_NtNtNtCs9Ha9odS5Q7o_14rustc_borrowck8polonius6legacy8accessesNtB4_20AccessFact"
	  "sExtractorNtNtNtCsdadwybgsbvk_12rustc_middle3mir5visit7Visitor11visit_place",
	  "<rustc_borrowck::polonius::legacy::accesses::AccessFactsExtractor as rustc_middle::mi"
	  "r::visit::Visitor>::visit_place" },
	{ "_ZN6rustup4dist9component10components16ComponentBuilder9move_file17h0cc4e9efdf9a0f18E",
	  "rustup::dist::component::components::ComponentBuilder::move_file" },
	{ "_RNvMs_NtCsjyvvofjlheH_10rustc_span10source_mapNtB4_9SourceMap25span_until_non_whites"
	  "pace",
	  "<rustc_span::source_map::SourceMap>::span_until_non_whitespace" },
	{ "_ZN73_$LT$P$u20$as$u20$clap_builder..builder..value_parser..AnyValueParser$GT$9parse_"
	  "ref17h0a77abb87982675dE",
	  "<P as clap_builder::builder::value_parser::AnyValueParser>::parse_ref" },
	{ "_RNvCs6IqgnrtlzSn_10rustc_span15SESSION_GLOBALS",
	  "rustc_span::SESSION_GLOBALS" },
	{ "_ZN2h25proto7streams4recv4Recv17recv_push_promise10__CALLSITE4META17h1928136c275c8539"
	  "E",
	  "h2::proto::streams::recv::Recv::recv_push_promise::__CALLSITE::META" },
	{ "_RNvMs0_NtCs6Me6COPlX5G_15rustc_serialize6opaqueNtB5_10MemDecoder17decoder_exhausted",
	  "<rustc_serialize::opaque::MemDecoder>::decoder_exhausted" },
	{ "_RNvMNtNtNtCshGnl7rG6nUC_6object5write4coff6writerNtB2_6Writer5write",
	  "<object::write::coff::writer::Writer>::write" },
	{ "_RNvMNtNtCs9TyMziwztfq_15icu_locale_core7subtags7variantNtB2_7Variant12try_from_raw",
	  "<icu_locale_core::subtags::variant::Variant>::try_from_raw" },
	{ "_RNvMsj_NtNtCsjxQzBqb8aDj_12rustc_middle2ty7contextNtB5_6TyCtxt23article_and_descript"
	  "ion",
	  "<rustc_middle::ty::context::TyCtxt>::article_and_description" },
	{ "_RNvNtNtCs1I33n4nKwkQ_13rustc_session7options6dbopts8unpretty",
	  "rustc_session::options::dbopts::unpretty" },
	{ "_ZN68_$LT$h2..frame..headers..HeadersFlag$u20$as$u20$core..fmt..Debug$GT$3fmt17hef878"
	  "8768caa2418E",
	  "<h2::frame::headers::HeadersFlag as core::fmt::Debug>::fmt" },
	{ "_RNvMNtCsinF5g6UsZRS_12rustc_public6targetNtB2_11MachineInfo20target_pointer_width",
	  "<rustc_public::target::MachineInfo>::target_pointer_width" },
	{ "_RNvXsc_NtCs8OTfIKbyJ1L_9twox_hash4xxh3NtB5_5StateNtNtCs8NwYtU1Mohg_4core7default7Def"
	  "ault7default",
	  "<twox_hash::xxh3::State as core::default::Default>::default" },
	{ "_RNvXNvMNtNtCsjrHSEGnQ3l9_3std3sys9backtraceNtB5_13BacktraceLock5printNtB2_16DisplayB"
	  "acktraceNtNtCsgEmfK2I1SDS_4core3fmt7Display3fmt",
	  "<<std::sys::backtrace::BacktraceLock>::print::DisplayBacktrace as core::fmt::Display>"
	  "::fmt" },
	{ "_RNvXs_NtCsbCOkeRlIXnH_12rand_xoshiro19xoroshiro64starstarNtB4_19Xoroshiro64StarStarN"
	  "tCsEt0htNwmyv_9rand_core11SeedableRng13seed_from_u64",
	  "<rand_xoshiro::xoroshiro64starstar::Xoroshiro64StarStar as rand_core::SeedableRng>::s"
	  "eed_from_u64" },
	{ "_ZN5gimli4read4unit15parse_attribute17h66133337fd90a712E",
	  "gimli::read::unit::parse_attribute" },
	{ "_RINvNtNtNtCs8NwYtU1Mohg_4core5slice4sort6stable14driftsort_mainmNCINvMNtCsbEht8wFNRx"
	  "7_5alloc5sliceSm11sort_by_keyRINtNtB8_6option6OptionNtNtCs6IqgnrtlzSn_10rustc_span6sy"
	  "mbol6SymbolENCINvXs2_NtNtCs4k3LPBBIJ3O_21rustc_data_structures10sorted_map9index_mapI"
	  "NtB32_19SortedIndexMultiMapmB1O_NtNtNtCsjxQzBqb8aDj_12rustc_middle2ty5assoc9AssocItem"
	  "EINtNtNtNtB8_4iter6traits7collect12FromIteratorTB1O_B4A_EE9from_iterINtNtNtB5z_8adapt"
	  "ers3map3MapINtNtNtB18_3vec9into_iter8IntoIterB4A_ENCINvMs2_B4C_NtB4C_10AssocItems3new"
	  "INtB74_3VecB4A_EE0EE0E0IB8c_mEECs7OIiR8D4QJZ_14rustc_ty_utils",
	  "core::slice::sort::stable::driftsort_main::<u32, <[u32]>::sort_by_key<&core::option::"
	  "Option<rustc_span::symbol::Symbol>, <rustc_data_structures::sorted_map::index_map::So"
	  "rtedIndexMultiMap<u32, core::option::Option<rustc_span::symbol::Symbol>, rustc_middle"
	  "::ty::assoc::AssocItem> as core::iter::traits::collect::FromIterator<(core::option::O"
	  "ption<rustc_span::symbol::Symbol>, rustc_middle::ty::assoc::AssocItem)>>::from_iter<c"
	  "ore::iter::adapters::map::Map<alloc::vec::into_iter::IntoIter<rustc_middle::ty::assoc"
	  "::AssocItem>, <rustc_middle::ty::assoc::AssocItems>::new<alloc::vec::Vec<rustc_middle"
	  "::ty::assoc::AssocItem>>::{closure#0}>>::{closure#0}>::{closure#0}, alloc::vec::Vec<u"
	  "32>>" },
	{ "_RINvCsgwiwt6F3Sso_3gen1gDG0_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTQL1_DNtNtNtNt"
	  "Bx_4iter6traits8iterator8Iteratorp4ItemThRL0_eEEL1_EEp6OutputuEL_EB2_",
	  "gen::g::<dyn for<'a, 'b> core::ops::function::Fn<(&'a mut dyn core::iter::traits::ite"
	  "rator::Iterator<Item = (u8, &'b str)> + 'a,), Output = ()>>" },
};

/* Hand-made, each checked with c++filt -i. */
static const struct vec crafted[] = {
	{ "_ZN5tokio7runtime4task7harness20Harness$LT$T$C$S$GT$4poll17h0123456789abcdefE",
	  "tokio::runtime::task::harness::Harness<T,S>::poll" },
	{ "_ZN3foo12a$SP$b$u20$c17h0123456789abcdefE", "foo::a@b c" },
	{ "_ZN3foo12$LP$$RP$$BP$17h0123456789abcdefE", "foo::()*" },
	{ "_ZN3foo8_$u7b$x$17h0123456789abcdefE", "foo::{x$" },
	{ "_ZN3foo7a$XY$b.17h0123456789abcdefE", "foo::a$XY$b." },
	{ "_ZN3foo5a.b.c17h0123456789abcdefE", "foo::a.b.c" },
	{ "_ZN3foo8a..b$C$c17h0123456789abcdefE", "foo::a::b,c" },
	{ "_ZN3foo3$C$17h0123456789abcdefE", "foo::," },
	{ "_ZN3foo5$u1f$17h0123456789abcdefE", "foo::$u1f$" },
	{ "_ZN3foo3bar17h0123456789abcdefE.0", "foo::bar" },
	{ "_ZN3foo3bar17h0123456789abcdefE.llvm.9D1C9369", "foo::bar" },
	{ "_ZN3foo3bar17h0123456789abcdefE.llvm.1E2E3", "foo::bar" },
	{ "_ZN3foo3bar17h000000000000abcdE", "foo::bar" },
	{ "_RNvC3foo3bar.llvm.123", "foo::bar" },
	{ "_RNvCs1234_3foo3bar", "foo::bar" },
	{ "_RNvC3foou3foo", "foo::\xe4\x95\xad" },	/* U+456D */
	{ "_RNvNtC3foo3bar0", "foo::bar" },
	{ "_RNCNvC3foo3bars_4name", "foo::bar::{closure:name#1}" },
	{ "_RNSNvC3foo3bar5reify", "foo::bar::{shim:reify#0}" },
	{ "_RNANvC3foo3bar1x", "foo::bar::{A:x#0}" },
	{ "_RNvYNtC3foo3BarNtB4_5Trait1f", "<foo::Bar as foo::Trait>::f" },
	{ "_RNvXs_NtC3foo3BarNtB4_3BarNtB6_5Trait1f", "<foo::Bar::Bar as foo::Trait>::f" },
	{ "_RNvMNtC3foo3BarB2_3new", "<foo::Bar>::new" },
	{ "_RINvNtC3std3mem8align_ofjEB6_", "std::mem::align_of::<usize>" },
	{ "_RINvC3foo3barL_E", "foo::bar::<'_>" },
	{ "_RINvC3foo3barRL_hE", "foo::bar::<&u8>" },
	{ "_RINvC3foo3barKpE", "foo::bar::<_>" },
	{ "_RINvC3foo3barAaj3_E", "foo::bar::<[i8; 3]>" },
	{ "_RINvC3foo3barDNtC3foo3BazEL_E", "foo::bar::<dyn foo::Baz>" },
	{ "_RINvC3foo3barFKCEuE", "foo::bar::<extern \"C\" fn()>" },
	{ "_RINvC3foo3barFK7sys_v64EuE", "foo::bar::<extern \"sys-v64\" fn()>" },
	{ "_RINvC3foo3barFK4a__bEuE", "foo::bar::<extern \"a-_b\" fn()>" },
	{ "_RINvC3foo3barFUK4RustEhE", "foo::bar::<unsafe extern \"Rust\" fn() -> u8>" },
	{ "_RINvC3foo3barFG0_RL1_hRL0_mEuE", "foo::bar::<for<'a, 'b> fn(&'a u8, &'b u32)>" },
	{ "_RINvC3foo3barFGp_RL1_hEuE",
	  "foo::bar::<for<'a, 'b, 'c, 'd, 'e, 'f, 'g, 'h, 'i, 'j, 'k, 'l, 'm, 'n, 'o, 'p, 'q, 'r, "
	  "'s, 't, 'u, 'v, 'w, 'x, 'y, 'z, '_26> fn(&'z u8)>" },
	{ "_RINvC3foo3barKc27_Kc5c_Kc7f_Kc7d_Kc9_Kcd_Kc20_Kcffff_E",
	  "foo::bar::<''', '\\', '\\u{7f}', '}', '\\t', '\\r', '\\u{20}', '\\u{ffff}'>" },
	{ "_RINvC3foo3barKb1_Kb0_Kxn1_Ka7f_Koffffffffffffffff_Kj0_E",
	  "foo::bar::<true, false, -1, 127, 18446744073709551615, 0>" },
};

/*
 * Where we knowingly differ from c++filt -i: constants wider than 64 bits (libiberty prints
 * the digits shifted by one, "0xfff..f_"; these are rustc-demangle's digits), a lifetime
 * index beyond its binders (libiberty prints an underflowed "'_18446744073709551615") and
 * a truncated Punycode delta (libiberty silently prints the identifier as empty).
 */
static const struct vec differ[] = {
	{ "_RINvCsgwiwt6F3Sso_3gen3bigKoffffffffffffffffffffffffffffffff_Knn8000000000000000000000"
	  "0000000000_Kan80_Kydeadbeef_Kc1f600_EB2_",
	  "gen::big::<0xffffffffffffffffffffffffffffffff, -0x80000000000000000000000000000000, "
	  "-128, 3735928559, '\\u{1f600}'>" },
	{ "_RINvC3foo3barFG0_RL1_hRL2_hEuE", NULL },
	{ "_RNvC3foou5abc_9", NULL },
};

/* Not Rust (C++ is left to __cxa_demangle), or malformed. */
static const char *const rejected[] = {
	"", "_", "_R", "_ZN", "_RC", "_RC0_", "_R0NvC3foo3bar", "_RNvC3foo3bar$", "_RNvC3foo3barX",
	"_RNvC3foo3ba", "_RNvC3foo5_1abc", "_RB_", "_RNvB1_3foo", "_RNvCsZZZZZZZZZZZZZ_3foo3bar",
	"_RINvC3foo3barKRe3abc_E", "_RINvC3foo3barKb2_E", "_RINvC3foo3barKc123456789_E",
	"_RINvC3foo3barKj_E", "_RINvC3foo3barKjG_E", "_RNvC3foou3fOo", "_RNvC3foou5abc_A",
	"_ZN3foo3barEv", "_ZNK3foo3barEv", "_ZN3foo3bar17h0000000000000000E", "_Z3foov", "main",
	"_ZN3foo3bar17hg123456789abcdefE", "_ZN3foo3bar17h0123456789abcdeE",
	"_ZN17h0123456789abcdefE", "_ZN3foo3bar17h0123456789abcdefE@plt",
	"_ZN3foo3bar17h0123456789abcdef", "_ZN3foo0bar17h0123456789abcdefE",
	"_ZN3fo3bar17h0123456789abcdefE", "_ZN3foo3bar17h0123456789abcdefE.llvm.1 2",
	"_ZN99999999999999999999999h0123456789abcdefE",
};

/* The demangler may accept or reject a mutilated symbol; crashes and overreads fail. */
static int check_one(const char *s, size_t n)
{
	char *buf = malloc(n + 1), *d;
	int bad;

	/* An exactly sized copy, so that valgrind sees any read past the end. */
	memcpy(buf, s, n);
	buf[n] = '\0';
	d = rust_demangle(buf);
	bad = d && (strlen(d) == 0 || strlen(d) > 65536);
	free(d);
	free(buf);
	return bad;
}

static int all_prefixes(const char *s)
{
	size_t n, len = strlen(s);
	int bad = 0;

	for (n = 0; n <= len; n++)
		bad += check_one(s, n);
	return bad;
}

/* Deterministic byte changes, insertions and deletions on a valid symbol. */
static int mutate(const char *s, unsigned int rounds, uint32_t *seed)
{
	static const char alpha[] = "_0123456789aBCDEFGIKLMNOPQRSTUXYZbcehjlnpsuvxz$.E";
	size_t len = strlen(s), at;
	char *buf = malloc(len + 2);
	unsigned int i;
	int bad = 0;

	for (i = 0; i < rounds; i++) {
		*seed = *seed * 1103515245u + 12345u;
		at = (*seed >> 8) % (len + 1);
		memcpy(buf, s, len + 1);
		switch ((*seed >> 4) % 3) {
		case 0:
			if (at < len)
				buf[at] = alpha[(*seed >> 16) % (sizeof(alpha) - 1)];
			break;
		case 1:
			memmove(buf + at + 1, buf + at, len + 1 - at);
			buf[at] = alpha[(*seed >> 16) % (sizeof(alpha) - 1)];
			break;
		default:
			if (at < len)
				memmove(buf + at, buf + at + 1, len - at);
		}
		bad += check_one(buf, strlen(buf));
	}
	free(buf);
	return bad;
}

static char *repeat(const char *prefix, const char *unit, size_t times, const char *suffix)
{
	size_t ul = strlen(unit), pl = strlen(prefix), i;
	char *s = malloc(pl + ul * times + strlen(suffix) + 1);

	strcpy(s, prefix);
	for (i = 0; i < times; i++)
		memcpy(s + pl + i * ul, unit, ul);
	strcpy(s + pl + ul * times, suffix);
	return s;
}

/* A backref's position n as base 62: "_" for 0, else n - 1 then '_'. */
static size_t b62(char *out, size_t n)
{
	static const char dig[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char tmp[16];
	size_t k = 0, i;

	if (n == 0) {
		out[0] = '_';
		return 1;
	}
	for (n--; k == 0 || n; n /= 62)
		tmp[k++] = dig[n % 62];
	for (i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	out[k] = '_';
	return k + 1;
}

/*
 * a::b::<T0, T1, ...> with T0 = u8 and each Tk = (Tk-1, Tk-1) written as two backrefs: the
 * output doubles per level, as a hostile symbol table could make it do.
 */
static char *backref_bomb(int levels)
{
	char *s = malloc(32 + levels * 40), *p;
	size_t prev, here;
	int i;

	strcpy(s, "_RINvC1a1bh");
	prev = strlen("INvC1a1b");	/* where T0 ("h") starts, counted after "_R" */
	p = s + strlen(s);
	for (i = 0; i < levels; i++) {
		here = p - s - 2;
		*p++ = 'T';
		*p++ = 'B';
		p += b62(p, prev);
		*p++ = 'B';
		p += b62(p, prev);
		*p++ = 'E';
		prev = here;
	}
	strcpy(p, "E");
	return s;
}

static void is_str(const char *sym, const char *want)
{
	char *got = rust_demangle(sym);

	if (want)
		ok(got && strcmp(got, want) == 0, "%s -> %s", sym, want);
	else
		ok(!got, "%.200s -> NULL", sym ? sym : "(null)");
	if (got && (!want || strcmp(got, want)))
		printf("# got %.500s\n", got);
	free(got);
}

static void bounds(void)
{
	char *s;

	s = repeat("_R", "Nv", 100000, "C1a");	/* recursion bound */
	is_str(s, NULL);
	free(s);
	s = repeat("_RINvC1a1b", "S", 100000, "hE");
	is_str(s, NULL);
	free(s);
	s = repeat("_RINvC1a1b", "Th", 30000, "E");	/* flat but wide: output bound */
	is_str(s, NULL);
	free(s);
	s = backref_bomb(4);
	is_str(s, "a::b::<u8, (u8, u8), ((u8, u8), (u8, u8)), (((u8, u8), (u8, u8)), "
		  "((u8, u8), (u8, u8))), ((((u8, u8), (u8, u8)), ((u8, u8), (u8, u8))), "
		  "(((u8, u8), (u8, u8)), ((u8, u8), (u8, u8))))>");
	free(s);
	s = backref_bomb(60);
	is_str(s, NULL);
	free(s);
	/* A binder of 62^10 lifetimes, printed and (in the instantiating crate) skipped. */
	is_str("_RINvC1a1bFGZZZZZZZZZZ_EuE", NULL);
	is_str("_RNvC1a1bINvC1c1dFGZZZZZZZZZZ_EuE", "a::b");
}

int main(void)
{
	static const char *const fuzzed[] = {
		"_ZN5tokio7runtime4task7harness20Harness$LT$T$C$S$GT$4poll17h0123456789abcdefE",
		"_RINvC3foo3barFGp_RL1_hEuE",
		"_RINvC3foo3barKc27_Kc5c_Kc7f_Kc7d_Kc9_Kcd_Kc20_Kcffff_E",
		"_ZN3foo8a..b$C$c17h0123456789abcdefE.llvm.123",
	};
	uint32_t seed = 42;
	size_t i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(real); i++)
		is_str(real[i].sym, real[i].want);
	for (i = 0; i < ARRAY_SIZE(crafted); i++)
		is_str(crafted[i].sym, crafted[i].want);
	for (i = 0; i < ARRAY_SIZE(differ); i++)
		is_str(differ[i].sym, differ[i].want);
	for (i = 0; i < ARRAY_SIZE(rejected); i++)
		is_str(rejected[i], NULL);
	is_str(NULL, NULL);
	bounds();

	for (i = 0; i < ARRAY_SIZE(real); i++)
		bad += all_prefixes(real[i].sym);
	ok(bad == 0, "every prefix of %zu real symbols: NULL or a sane string", ARRAY_SIZE(real));
	for (i = 0, bad = 0; i < ARRAY_SIZE(crafted); i++)
		bad += all_prefixes(crafted[i].sym) + mutate(crafted[i].sym, 200, &seed);
	for (i = 0; i < ARRAY_SIZE(fuzzed); i++)
		bad += mutate(fuzzed[i], 2000, &seed);
	for (i = 0; i < ARRAY_SIZE(real); i += 4)
		bad += mutate(real[i].sym, 200, &seed);
	ok(bad == 0, "prefixes and mutations of crafted and real symbols");
	return tap_done();
}
